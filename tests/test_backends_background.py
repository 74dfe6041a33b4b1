"""Background compilation: calls keep running the original while a worker thread compiles."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from autoaccel.backends import cpu
from autoaccel.runtime.registry import lookup

SOURCE = """
def total(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * 2.0
    return s
"""


def test_compiles_on_the_worker_and_calls_never_wait(accelerated, monkeypatch):
    threads = []
    compile_signature = cpu.compile_signature

    def recording(*args):
        threads.append(threading.current_thread().name)
        time.sleep(0.5)  # a slow compile: the caller must not wait for it
        return compile_signature(*args)

    monkeypatch.setattr(cpu, "compile_signature", recording)
    mod = accelerated(SOURCE, min_calls=2, background_compile=True)
    a = np.linspace(0.0, 1.0, 500)
    expected = 0.0
    for x in a:
        expected += x * 2.0
    results = [mod.total(a), mod.total(a)]  # the second call makes it hot
    start = time.perf_counter()
    results.append(mod.total(a))
    assert time.perf_counter() - start < 0.4  # did not wait for the 0.5 s compile
    trampoline = lookup(mod.total)
    deadline = time.monotonic() + 60
    while not trampoline.promotions and time.monotonic() < deadline:
        results.append(mod.total(a))
        time.sleep(0.01)
    assert [p.signature for p in trampoline.promotions] == ["(array(float64, 1d, C))"]
    assert threads == ["autoaccel-compiler"]
    assert {repr(r) for r in results} == {repr(expected)}


def test_a_compile_failure_in_the_background_leaves_the_original(accelerated):
    mod = accelerated("def f(a):\n    return a.no_such_attribute\n", background_compile=True)
    trampoline = lookup(mod.f)
    deadline = time.monotonic() + 60
    while trampoline.armed and time.monotonic() < deadline:
        with pytest.raises(AttributeError):
            mod.f(np.zeros(3))
        time.sleep(0.01)
    assert not trampoline.armed
    assert "Numba cannot compile it" in next(iter(trampoline.failures.values()))[1]

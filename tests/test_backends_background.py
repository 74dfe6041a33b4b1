"""Background compilation: calls keep running the original while a worker thread compiles."""

from __future__ import annotations

import os
import threading
import time
import warnings

import numpy as np
import pytest

from autoaccel.backends import background, cpu
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


def _worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "autoaccel-compiler"]


def test_the_worker_ends_when_idle_and_starts_again():
    ran = []
    for round_ in range(2):
        done = threading.Event()
        background.submit(("idle", round_), lambda r=round_, d=done: (ran.append(r), d.set()))
        assert done.wait(30)
        deadline = time.monotonic() + 30
        while _worker_threads() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not _worker_threads(), "an idle worker is no thread a fork would see"
        assert not background.is_pending(("idle", round_))
    assert ran == [0, 1]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() only")
def test_a_fork_waits_for_the_compile_in_progress():
    # A compile holds COMPILE_LOCK on another thread; the fork must wait for it, so the
    # child can take the lock (a child inheriting it held would hang at its first compile).
    holding, release = threading.Event(), threading.Event()
    order = []

    def compile_() -> None:
        with background.COMPILE_LOCK:
            holding.set()
            release.wait(30)
            order.append("compiled")

    thread = threading.Thread(target=compile_)
    thread.start()
    assert holding.wait(30)
    threading.Timer(0.2, release.set).start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
        pid = os.fork()
    if pid == 0:
        free = background.COMPILE_LOCK.acquire(blocking=False)
        os._exit(0 if free and order == ["compiled"] else 1)
    order.append("forked")
    thread.join()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert order == ["compiled", "forked"]
    assert background.COMPILE_LOCK.acquire(blocking=False)
    background.COMPILE_LOCK.release()

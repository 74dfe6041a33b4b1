"""Per-call cost of autoaccel's trampoline, in ns, printed as JSON on stdout.

Measured in one process: a plain function; the same function rewritten by autoaccel while it
is counting calls (armed), after it was rejected (disarmed); and a small array kernel after
promotion against the hand-written ``numba.njit`` dispatcher of the same code.
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
import timeit
from pathlib import Path

import numba
import numpy as np

import autoaccel
from autoaccel import Config
from autoaccel._trampoline import lookup

SOURCE = """
def identity(x):
    return x

def total(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
    return s
"""
CALLS = 200_000


def _ns(function, *args) -> float:
    timer = timeit.Timer(lambda: function(*args))
    return min(timer.repeat(repeat=7, number=CALLS)) / CALLS * 1e9


def _empty_lambda_ns() -> float:
    return _ns(lambda: None)


def main() -> None:
    directory = Path(tempfile.mkdtemp())
    (directory / "aa_overhead_kernels.py").write_text(SOURCE)
    sys.path.insert(0, str(directory))
    with autoaccel.install(Config(modules=("aa_overhead_kernels",), min_calls=10**9, min_gain=0.0)):
        counting = importlib.import_module("aa_overhead_kernels")
    namespace: dict = {}
    exec(SOURCE, namespace)
    base = _empty_lambda_ns()
    results = {"plain call": _ns(namespace["identity"], 1.0) - base}
    results["trampoline, counting (before promotion)"] = _ns(counting.identity, 1.0) - base
    lookup(counting.identity).armed = False
    results["trampoline, disarmed (after rejection)"] = _ns(counting.identity, 1.0) - base
    array = np.ones(100)
    trampoline = lookup(counting.total)
    trampoline.min_calls = 1
    for _ in range(10):
        counting.total(array)
    assert trampoline.promotions, "the kernel should have been promoted"
    handwritten = numba.njit(namespace["total"])
    handwritten(array)
    results["promoted kernel, 100 float64"] = _ns(counting.total, array) - base
    results["hand-written njit kernel, 100 float64"] = _ns(handwritten, array) - base
    print(json.dumps({k: round(v, 1) for k, v in results.items()}))


if __name__ == "__main__":
    main()

"""autoaccel's own costs, each next to its baseline, printed as JSON on stdout.

Measured in one process (``python benchmarks/overhead.py``):

* ns per call of a function rewritten by autoaccel while it counts calls (before promotion)
  and after the verdict rejected it (disarmed), each against the same function as plain
  Python; and of a small array kernel after promotion against calling Numba's compiled entry
  point of the same code directly (``dispatcher.overloads[signature].entry_point``: what
  Numba's dispatcher calls once it has matched the argument types), with the hand-written
  ``numba.njit`` dispatcher itself as a row of its own. Each for the C fast path and for the
  Python one (autoaccel/runtime/fastpath.py): the Python path is measured in a child process
  started with ``AUTOACCEL_PURE_PYTHON=1``, so each process compares its rows with baselines
  it measured itself, in the same rounds (``--calls-only`` prints one process's rows);
* time to promotion: from the kernel's first call to its promotion at the default thresholds
  (counting, compiling, the isolated first run and the validation calls), with autoaccel's
  persistent cache off so that every repeat compiles, against the first call of the
  hand-written ``njit`` dispatcher (its compilation); Numba's one-off start-up is paid by a
  throwaway compile before either is measured;
* import time of a module (``examples/mixed/mixed.py``, 15 functions and classes) through
  autoaccel's import hook against a plain import (its ``.pyc`` is cached in both cases).

Each row: ``{"case", "unit", "autoaccel", "baseline", "baseline_case"}``; a call costs what
``timeit`` measures for ``f(x)``: every case of a process is timed once per round, for 7
rounds, and the best round counts. An import or a promotion: the median of repeated fresh
ones.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

import numba
import numpy as np

import autoaccel
from autoaccel import Config
from autoaccel.runtime import fastpath
from autoaccel.runtime.registry import lookup

ROOT = Path(__file__).resolve().parent.parent
SOURCE = """
def identity(x):
    return x

def total(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
    return s
"""
IMPORTED = ROOT / "examples" / "mixed" / "mixed.py"
CALLS = 200_000
REPEATS = 7


def ns_per_call(cases: dict[str, tuple]) -> dict[str, float]:
    """Nanoseconds of ``function(argument)`` for each ``name: (function, argument)``.

    The cases take turns: each round times every case once (``CALLS`` calls), so a load
    change on the machine meets all of them alike; the best of ``REPEATS`` rounds counts.
    """
    timers = {
        name: timeit.Timer("f(x)", globals={"f": function, "x": argument})
        for name, (function, argument) in cases.items()
    }
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(REPEATS):
        for name, timer in timers.items():
            best[name] = min(best[name], timer.timeit(number=CALLS) / CALLS * 1e9)
    return best


def _row(case: str, unit: str, accelerated: float, baseline: float, baseline_case: str) -> dict:
    return {
        "case": case,
        "unit": unit,
        "autoaccel": round(accelerated, 1),
        "baseline": round(baseline, 1),
        "baseline_case": baseline_case,
    }


class Modules:
    """Fresh modules with ``SOURCE`` (or any source), imported through autoaccel's hook."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="aa-overhead-"))
        sys.path.insert(0, str(self.directory))
        self.count = 0

    def write(self, source: str) -> str:
        """A new module name holding ``source``."""
        self.count += 1
        name = f"aa_overhead_{self.count}"
        (self.directory / f"{name}.py").write_text(source)
        return name

    def accelerated(self, source: str = SOURCE, **settings):
        """A new module of ``source`` imported with the hook installed for it only."""
        name = self.write(source)
        with autoaccel.install(Config(modules=(name,), **settings)):
            return importlib.import_module(name)

    def close(self) -> None:
        """Remove the modules' directory."""
        sys.path.remove(str(self.directory))
        shutil.rmtree(self.directory, ignore_errors=True)


def call_costs(modules: Modules, plain: dict) -> list[dict]:
    """ns per call before promotion, after rejection and after promotion, on the path this
    process uses (C or Python), each next to its baseline."""
    counting = modules.accelerated(min_calls=10**9)
    rejected = modules.accelerated(min_calls=1, min_gain=1e9)
    while lookup(rejected.identity).armed:  # trial, then the verdict rejects and disarms
        rejected.identity(1.0)
    promoted = modules.accelerated(min_calls=1)
    array = np.ones(100)
    while not lookup(promoted.total).promotions:
        promoted.total(array)
    handwritten = numba.njit(plain["total"])
    handwritten(array)
    (signature,) = handwritten.overloads
    ns = ns_per_call(
        {
            "plain": (plain["identity"], 1.0),
            "counting": (counting.identity, 1.0),
            "disarmed": (rejected.identity, 1.0),
            "entry point": (handwritten.overloads[signature].entry_point, array),
            "dispatcher": (handwritten, array),
            "promoted": (promoted.total, array),
        }
    )
    path = "C path" if fastpath.NATIVE is not None else "Python path"
    entry = "Numba's compiled entry point (overloads[sig].entry_point)"
    return [
        _row(
            f"call before promotion (counting), {path}",
            "ns",
            ns["counting"],
            ns["plain"],
            "plain function",
        ),
        _row(
            f"call after rejection (disarmed), {path}",
            "ns",
            ns["disarmed"],
            ns["plain"],
            "plain function",
        ),
        _row(
            f"call after promotion, kernel over 100 float64, {path}",
            "ns",
            ns["promoted"],
            ns["entry point"],
            entry,
        ),
        _row(
            f"hand-written njit dispatcher, same kernel (measured with the {path})",
            "ns",
            ns["dispatcher"],
            ns["entry point"],
            entry,
        ),
    ]


def fallback_call_costs() -> list[dict]:
    """:func:`call_costs` in a child process that uses the Python path."""
    environment = {**os.environ, fastpath.PURE_PYTHON: "1"}
    child = subprocess.run(
        [sys.executable, __file__, "--calls-only"],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(child.stdout)


def time_to_promotion(modules: Modules, plain: dict, repeats: int = 5) -> dict:
    """Milliseconds from a kernel's first call to its promotion, at the default thresholds."""
    numba.njit(lambda x: x + 1)(1)  # Numba's one-off start-up, outside both measurements
    array = np.ones(100)
    promotion, compile_ = [], []
    for _ in range(repeats):
        # Without cache=False every repeat after the first loads the variant from disk.
        module = modules.accelerated(cache=False)
        start = time.perf_counter()
        while not lookup(module.total).promotions:
            module.total(array)
        promotion.append(time.perf_counter() - start)
        handwritten = numba.njit(plain["total"])  # a new dispatcher compiles again
        start = time.perf_counter()
        handwritten(array)
        compile_.append(time.perf_counter() - start)
    return _row(
        "time to promotion (default thresholds)",
        "ms",
        statistics.median(promotion) * 1e3,
        statistics.median(compile_) * 1e3,
        "hand-written njit: first call (compile)",
    )


def import_time(modules: Modules, repeats: int = 20) -> dict:
    """Milliseconds to import ``IMPORTED`` through the hook and plainly (``.pyc`` cached)."""
    source = IMPORTED.read_text()
    plain_name, accelerated_name = modules.write(source), modules.write(source)
    importlib.import_module(plain_name)  # writes the .pyc files and warms imported modules
    installation = autoaccel.install(Config(modules=(accelerated_name,)))
    try:
        importlib.import_module(accelerated_name)
        times: dict[str, list[float]] = {plain_name: [], accelerated_name: []}
        for _ in range(repeats):
            for name, samples in times.items():
                del sys.modules[name]
                start = time.perf_counter()
                importlib.import_module(name)
                samples.append(time.perf_counter() - start)
    finally:
        installation.uninstall()
    return _row(
        f"import {IMPORTED.relative_to(ROOT)}",
        "ms",
        statistics.median(times[accelerated_name]) * 1e3,
        statistics.median(times[plain_name]) * 1e3,
        "plain import",
    )


def main() -> None:
    """Measure every row and print them as JSON (``--calls-only``: this process's call
    costs only)."""
    plain: dict = {}
    exec(SOURCE, plain)
    modules = Modules()
    try:
        rows = call_costs(modules, plain)
        if "--calls-only" not in sys.argv[1:]:
            if fastpath.NATIVE is not None:
                rows += fallback_call_costs()
            rows.append(time_to_promotion(modules, plain))
            rows.append(import_time(modules))
    finally:
        modules.close()
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

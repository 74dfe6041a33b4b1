"""The loop engine's own costs, each next to its baseline, as ratios measured in one process.

Usage: ``python benchmarks/loop_overhead.py [--repeats N]`` (prints a markdown table).

* **counting**: ns per iteration of a trivial loop (``s += i``) while its trampoline counts
  iterations and Python time (armed, before any decision), against the same loop as plain
  Python. A loop pays this only until ``loop_min_seconds`` of its time has run, then it is
  promoted or disarmed.
* **disarmed**: the same loop after its trampoline refused it (one attribute load a run).
* **promoted run**: us per run of a loop ``out[i] = a[i] * f`` over ``n`` items, in a function
  called over and over (it cannot be promoted itself: it prints on a branch it never takes),
  for n = 10, 100, 1000 and 10000: the loop as plain Python, through autoaccel (promoted, or
  left plain where its trial found the compiled run slower), and the same function written
  with ``@numba.njit``. What a promoted run adds to the compiled loop is the difference
  between the autoaccel and njit columns: reading the frame's variables, converting them,
  copying the arrays a hand-back would restore, and writing the variables back.

Every mode runs in this process on the same data; each figure is the best of ``--repeats``
timings.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numba
import numpy as np

import autoaccel
from autoaccel.runtime.registry import loop_registry

SOURCE = """
def total(n):
    s = 0
    for i in range(n):
        s += i
    return s

def scale(a, f, out):
    if f < 0:
        print("negative")
    for i in range(a.shape[0]):
        out[i] = a[i] * f
    return out
"""


@numba.njit
def scale_njit(a, f, out):
    for i in range(a.shape[0]):
        out[i] = a[i] * f
    return out


def best(call, number: int, repeats: int) -> float:
    """The best of ``repeats`` timings of ``number`` calls, per call (seconds)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            call()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def load(directory: Path, name: str, **settings):
    """The loop module imported as ``name``: plain when no settings, else through the hook."""
    (directory / f"{name}.py").write_text(textwrap.dedent(SOURCE))
    if not settings:
        return importlib.import_module(name)
    with autoaccel.install(autoaccel.Config(modules=(name,), **settings)):
        return importlib.import_module(name)


def counting(directory: Path, repeats: int) -> list[str]:
    """Rows for the armed and disarmed loop, ns per iteration against plain Python."""
    plain = load(directory, "lo_plain")
    armed = load(directory, "lo_armed", loop_min_seconds=1e9, min_calls=10**9, cache=False)
    disarmed = load(directory, "lo_off", loops=False, min_calls=10**9, cache=False)
    n = 200_000
    base = best(lambda: plain.total(n), 1, repeats) / n * 1e9
    rows = []
    for label, module in (("counting (armed)", armed), ("disarmed", disarmed)):
        cost = best(lambda m=module: m.total(n), 1, repeats) / n * 1e9
        rows.append(f"| {label} | ns/iteration | {cost:.1f} | {base:.1f} | {cost / base:.2f}x |")
    return rows


def promoted_runs(directory: Path, repeats: int) -> list[str]:
    """Rows for runs of n items: plain, autoaccel and njit, us per run."""
    plain = load(directory, "lo_scale_plain")
    rows = []
    for n in (10, 100, 1000, 10_000):
        # A module of its own for each size: the loop decides once, for its runs' length.
        fast = load(directory, f"lo_scale_{n}", min_calls=10**9, cache=False)
        a, out = np.random.default_rng(1).random(n), np.empty(n)
        calls = max(20, 200_000 // n)
        for _ in range(calls):  # the loop decides on its way
            fast.scale(a, 1.5, out)
        scale_njit(a, 1.5, out)
        times = [
            best(lambda m=module, a=a, out=out: m.scale(a, 1.5, out), calls, repeats) * 1e6
            for module in (plain, fast)
        ]
        njit = best(lambda a=a, out=out: scale_njit(a, 1.5, out), calls, repeats) * 1e6
        (loop,) = [x for x in loop_registry() if x.name.startswith(f"{fast.__name__}.scale.")]
        state = "promoted" if loop.promotions else "plain"
        rows.append(
            f"| n = {n} ({state}) | us/run | {times[1]:.2f} | {times[0]:.2f} | "
            f"{times[0] / times[1]:.2f}x faster; njit {njit:.2f} us |"
        )
    return rows


def main() -> None:
    """Print the table (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        sys.path.insert(0, directory)
        rows = counting(Path(directory), options.repeats)
        rows += promoted_runs(Path(directory), options.repeats)
    print("| case | unit | autoaccel | plain Python | ratio |")
    print("|---|---|---:|---:|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()

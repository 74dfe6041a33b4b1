"""The script examples (examples/scripts/): whole process and loop speed, as ratios in one run.

Usage: ``python benchmarks/scripts.py [--runs N] [--scripts fit,heat,peaks] [--output FILE]``.

For each script, a round runs, each in a fresh process, modes interleaved (the order rotates
every round):

* ``plain``: ``python examples/scripts/X.py``;
* ``autoaccel first``: ``python -m autoaccel X.py`` with an empty cache directory;
* ``autoaccel second``: the same again, with the cache the first run left;
* ``njit first`` / ``njit second``: the hand-written port
  ``benchmarks/handwritten/X_njit.py`` (``@numba.njit(cache=True)``) with an empty, then a
  warm ``NUMBA_CACHE_DIR``.

Every run's stdout must equal plain CPython's. The medians of ``--runs`` rounds are printed
as ratios to plain CPython (>1: faster) and to the port, from wall time and, in a second
table, from the CPU time (user + system) of each process and its children: on a machine
shared with other work, wall time measures the neighbours too, CPU time much less so.

Then the loop once promoted: in one process each, the script's hot function (``fit`` for
fit.py, ``analyse`` for peaks.py) is called once to promote its loop, then timed on a second
call (autoaccel enters the compiled loop at the first iteration boundary), against the
port's second call. heat.py has its loops at the top level of the script, so it has no
second call; its whole-process figures say it all.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "examples" / "scripts"
PORTS = ROOT / "benchmarks" / "handwritten"
MODES = ("plain", "autoaccel first", "autoaccel second", "njit first", "njit second")
# The script's function that holds the hot loop, and the arguments of a timed call.
HOT = {
    "fit": "import fit as m; x, y = m.make_data(2000, 16); call = lambda: m.fit(x, y, 60, 0.5)",
    "peaks": (
        "import peaks as m; v = m.trace(200000, 0); "
        "call = lambda: m.analyse(v, {'lag': 50, 'threshold': 3.5})"
    ),
}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (the process and its children) and stdout of one run."""
    start, cpu = time.perf_counter(), _cpu()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, check=True)
    return time.perf_counter() - start, _cpu() - cpu, done.stdout


def _command(mode: str, script: str) -> list[str]:
    if mode.startswith("njit"):
        return [sys.executable, str(PORTS / f"{script}_njit.py")]
    if mode.startswith("autoaccel"):
        return [sys.executable, "-m", "autoaccel", f"{script}.py"]
    return [sys.executable, f"{script}.py"]


def one_round(script: str, order: list[str]) -> dict[str, tuple[float, float, str]]:
    """Wall seconds, CPU seconds and stdout of each mode, with fresh caches for this round."""
    results = {}
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as numba_cache:
        env = {**os.environ, "AUTOACCEL_CACHE_DIR": cache, "NUMBA_CACHE_DIR": numba_cache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # import autoaccel from .pyc, as installed
        # First runs must come before second runs of the same tool: order within a tool.
        for mode in sorted(order, key=lambda m: ("second" in m, order.index(m))):
            results[mode] = _timed(_command(mode, script), env, SCRIPTS)
    return results


def loop_speed(script: str, mode: str) -> float:
    """Seconds of the hot function's second call, in a fresh process (autoaccel or port)."""
    setup = HOT[script]
    if mode == "njit":
        setup = setup.replace(f"import {script} as m", f"import {script}_njit as m")
        path = PORTS
    else:
        path = SCRIPTS
        setup = (
            "import autoaccel; autoaccel.install(autoaccel.load_config(overrides="
            f"{{'modules': ['{script}']}})); " + setup
        )
    program = (
        f"import sys, time; sys.path.insert(0, {str(path)!r}); {setup}\n"
        "call()\nstart = time.perf_counter(); call(); print(time.perf_counter() - start)\n"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "AUTOACCEL_CACHE_DIR": cache}
        done = subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, env=env, check=True
        )
    return float(done.stdout.strip().splitlines()[-1])


def measure(script: str, runs: int) -> dict:
    """Whole-process medians (seconds), identical outputs, and the loop-speed ratio."""
    seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
    cpu: dict[str, list[float]] = {mode: [] for mode in MODES}
    identical = True
    for run in range(runs):
        order = list(MODES[run % len(MODES) :] + MODES[: run % len(MODES)])
        results = one_round(script, order)
        reference = results["plain"][2]
        for mode, (wall, used, stdout) in results.items():
            seconds[mode].append(wall)
            cpu[mode].append(used)
            identical &= stdout == reference
        print(f"  {script}: round {run + 1}/{runs}", file=sys.stderr)
    figures: dict = {
        "seconds": {mode: statistics.median(values) for mode, values in seconds.items()},
        "cpu_seconds": {mode: statistics.median(values) for mode, values in cpu.items()},
        "identical": identical,
    }
    if script in HOT:
        figures["loop_autoaccel_s"] = loop_speed(script, "autoaccel")
        figures["loop_njit_s"] = loop_speed(script, "njit")
    return figures


def table(results: dict, measure: str = "seconds") -> str:
    """The figures as a markdown table: speed-ups over CPython, and ratios to the port.

    Args:
        results: what :func:`measure` gives, by script.
        measure: ``"seconds"`` (wall) or ``"cpu_seconds"``.
    """
    lines = [
        f"| script | plain {'s' if measure == 'seconds' else 'CPU s'} | autoaccel first | "
        "autoaccel second | njit first | njit second | loop vs port | same output |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for script, figures in results.items():
        s = figures[measure]
        plain = s["plain"]
        cells = [f"{plain / s[m]:.1f}x" for m in MODES[1:]]
        loop = "—"
        if "loop_njit_s" in figures:
            loop = f"{figures['loop_autoaccel_s'] / figures['loop_njit_s']:.2f}x"
        same = "yes" if figures["identical"] else "NO"
        lines.append(f"| {script} | {plain:.2f} | " + " | ".join(cells) + f" | {loop} | {same} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scripts", default="fit,heat,peaks")
    parser.add_argument("--output", type=Path, default=None, help="also write the JSON here")
    options = parser.parse_args()
    results = {script: measure(script, options.runs) for script in options.scripts.split(",")}
    print(table(results))
    print()
    print(table(results, "cpu_seconds"))
    if options.output:
        options.output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""The benchmark suite: real programs under CPython, autoaccel, hand-written ``@njit`` and PyPy.

Usage: ``python benchmarks/run.py [--runs N] [--programs a,b] [--modes m,n] [--quick]
[--pypy PATH] [--output FILE] [--no-docs]``.

The programs and modes are described in ``benchmarks/suite.py``. For each program, the modes
run interleaved run by run (the order rotates each run), so that machine drift cancels. Per
program and mode it records:

* whole-process wall time (median of ``--runs``), peak RSS, and whether the output is
  identical to plain CPython's in every run;
* steady-state seconds: the pyperformance scripts' measured values after the warm-up values
  (from the pyperf stand-in's timings, in the same runs), the examples' ``workload()`` after
  warm-up (``benchmarks/steady.py``, one process per run and mode, also with autoaccel's
  ``boundscheck = false``);
* for autoaccel, the functions promoted and rejected, with the reasons, and the compile time
  (from ``--report-json``).

Then autoaccel's own costs (``benchmarks/overhead.py``). The results go to
``benchmarks/results/latest.json`` and, for a full run without ``--no-docs``, into the tables
and chart of ``docs/performance.md`` (``benchmarks/report.py``). A run with ``--quick``,
``--programs`` or ``--modes`` writes ``benchmarks/results/partial.json`` and leaves the docs
alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import report
import suite

RESULTS = suite.ROOT / "benchmarks" / "results"
STEADY_MODES = ("plain", "autoaccel", "njit")  # benchmarks/steady.py's modes, less -nobc


def _rotated(items: list[str], run: int) -> list[str]:
    shift = run % max(len(items), 1)
    return items[shift:] + items[:shift]


def measure_program(program: suite.Program, modes: list[str], runs: int, pypy: str | None):
    """Whole-process and steady-state figures of ``program`` in each of ``modes``."""
    whole: dict[str, list[suite.Run]] = {mode: [] for mode in modes}
    steady: dict[str, list[float]] = {mode: [] for mode in _steady_modes(program, modes)}
    for run in range(runs):
        for mode in _rotated(modes, run):
            print(f"  {program.name}: run {run + 1}/{runs}, {mode}", file=sys.stderr)
            whole[mode].append(suite.run_once(program, mode, pypy))
        for mode in _rotated(list(steady), run):
            steady[mode].append(example_steady(program, mode))
    reference = whole["plain"][0]
    result = {}
    for mode, mode_runs in whole.items():
        result[mode] = summarize(mode, mode_runs, reference)
        if mode in steady:
            result[mode]["steady_s"] = statistics.median(steady[mode])
            result[mode]["steady_runs_s"] = [round(value, 5) for value in steady[mode]]
    if "autoaccel-nobc" in steady:
        result["autoaccel"]["steady_boundscheck_off_s"] = statistics.median(
            steady["autoaccel-nobc"]
        )
    return {"kind": program.kind, "modes": result}


def summarize(mode: str, runs: list[suite.Run], reference: suite.Run) -> dict:
    """One mode's figures over its runs; outputs are compared with plain CPython's first."""
    if mode == "njit":  # the ports keep their data in other objects: compare answers only
        same = all(run.answers() == reference.answers() for run in runs)
    else:
        same = all(run.output == reference.output for run in runs)
    steady = [run.steady for run in runs if run.steady is not None]
    result = {
        "whole_s": statistics.median(run.seconds for run in runs),
        "whole_runs_s": [round(run.seconds, 4) for run in runs],
        "steady_s": statistics.median(steady) if steady else None,
        "steady_runs_s": [round(value, 5) for value in steady],
        "peak_rss_mib": round(max(run.peak_rss_kib for run in runs) / 1024, 1),
        "same_output": same,
    }
    if mode == "autoaccel":
        result.update(decisions(runs[-1].report or {"functions": []}))
    return result


def decisions(data: dict) -> dict:
    """Counts, compile time and per-function reasons from one ``--report-json`` file."""
    functions = data["functions"]
    return {
        "promoted": sum(f["state"] == "promoted" for f in functions),
        "rejected": sum(f["state"] == "rejected" for f in functions),
        "compile_s": round(sum(v["compile_seconds"] for f in functions for v in f["variants"]), 3),
        "functions": [
            {key: f[key] for key in ("name", "state", "reason")}
            | {"signatures": [v["signature"] for v in f["variants"]]}
            for f in functions
            if f["state"] != "interpreted"
        ],
    }


def _steady_modes(program: suite.Program, modes: list[str]) -> list[str]:
    if program.kind != "example":
        return []
    chosen = [mode for mode in modes if mode in STEADY_MODES]
    return chosen + (["autoaccel-nobc"] if "autoaccel" in chosen else [])


def _json_output(command: list[str], **options) -> Any:
    """The JSON that ``command`` prints on stdout; raise if it fails."""
    output = subprocess.run(command, capture_output=True, text=True, check=True, **options)
    return json.loads(output.stdout)


def example_steady(program: suite.Program, mode: str) -> float:
    """Seconds per ``workload()`` of an example after warm-up, in a fresh process."""
    command = [sys.executable, str(suite.ROOT / "benchmarks" / "steady.py"), mode, program.name]
    with tempfile.TemporaryDirectory(prefix=f"aa-steady-{program.name}-") as folder:
        return _json_output(command, cwd=folder, env=suite.environment(Path(folder)))["seconds"]


def overhead() -> list[dict]:
    """autoaccel's own costs, from ``benchmarks/overhead.py``."""
    return _json_output([sys.executable, str(suite.ROOT / "benchmarks" / "overhead.py")])


def _versions(pypy: str | None) -> dict:
    versions = {"python": platform.python_version(), "numba": metadata.version("numba")}
    if pypy is not None:
        code = (
            "import platform, sys; v = sys.pypy_version_info; "
            "print(f'PyPy {v.major}.{v.minor}.{v.micro} (Python {platform.python_version()})')"
        )
        versions["pypy"] = subprocess.run(
            [pypy, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
    return versions


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    names = [program.name for program in suite.PROGRAMS]
    parser.add_argument("--runs", type=int, default=3, help="runs per program and mode (3)")
    parser.add_argument("--programs", help=f"comma-separated subset of {','.join(names)}")
    parser.add_argument("--modes", help=f"comma-separated subset of {','.join(suite.MODES)}")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one run per mode, two pyperformance scripts and two examples (a smoke test)",
    )
    parser.add_argument(
        "--pypy", default=shutil.which("pypy3"), help="PyPy interpreter (default: pypy3 on PATH)"
    )
    parser.add_argument("--output", type=Path, help="results file (see above for the default)")
    parser.add_argument("--no-docs", action="store_true", help="leave docs/performance.md alone")
    options = parser.parse_args(argv)
    options.full = not (options.quick or options.programs or options.modes)
    if options.quick:
        options.runs = 1
        options.programs = options.programs or "nbody,fannkuch,indicators,mixed"
    options.programs = options.programs.split(",") if options.programs else names
    options.modes = options.modes.split(",") if options.modes else list(suite.MODES)
    unknown = set(options.programs) - set(names) | set(options.modes) - set(suite.MODES)
    if unknown or "plain" not in options.modes:
        parser.error(f"unknown programs or modes {sorted(unknown)}, or no 'plain' mode")
    if options.output is None:
        options.output = RESULTS / ("latest.json" if options.full else "partial.json")
    return options


def _command_line(options: argparse.Namespace) -> str:
    words = ["python", "benchmarks/run.py"]
    if options.runs != 3 and not options.quick:
        words += ["--runs", str(options.runs)]
    if not options.full:
        words += ["--quick"] if options.quick else []
        words += [f"--programs {','.join(options.programs)}", f"--modes {','.join(options.modes)}"]
    return " ".join(words)


def main(argv: list[str] | None = None) -> None:
    """Run the suite, write the results and (for a full run) the docs."""
    options = parse_args(argv)
    pypy = options.pypy if "pypy" in options.modes else None
    started = time.perf_counter()
    results = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        **_versions(pypy),
        "runs": options.runs,
        "warmups": suite.WARMUPS,
        "values": suite.VALUES,
        "command": _command_line(options),
        "programs": {},
    }
    for program in suite.PROGRAMS:
        if program.name in options.programs:
            print(f"benchmarking {program.name} ...", file=sys.stderr)
            modes = [mode for mode in program.modes(pypy) if mode in options.modes]
            results["programs"][program.name] = measure_program(program, modes, options.runs, pypy)
    print("measuring autoaccel's own costs ...", file=sys.stderr)
    results["overhead"] = overhead()
    results["duration_s"] = round(time.perf_counter() - started, 1)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2) + "\n")
    print(report.markdown(results))
    if options.full and not options.no_docs:
        report.write_docs(results)


if __name__ == "__main__":
    main()

"""The benchmark suite: examples under plain CPython, autoaccel and hand-written ``@njit``.

Usage: ``python benchmarks/run.py [--runs N] [--examples a,b] [--no-docs]``.

For each example it measures, in one session, with the three modes interleaved run by run so
that machine drift cancels:

* whole-process wall time of ``python examples/X/X.py`` (plain), ``python -m autoaccel
  examples/X/X.py`` (with the example's config) and ``python benchmarks/handwritten/X_njit.py``
  (median of ``--runs``), their peak memory, and whether all three printed the same stdout;
* steady-state time of the example's ``workload()`` after warm-up (``benchmarks/steady.py``);
* the trampoline's own per-call costs (``benchmarks/overhead.py``).

Results go to ``benchmarks/results/latest.json`` and, unless ``--no-docs``, into the table
between the markers in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ("indicators", "mlkernels", "montecarlo", "mixed")
MODES = ("plain", "autoaccel", "njit")
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _command(mode: str, example: str) -> list[str]:
    script = str(ROOT / "examples" / example / f"{example}.py")
    if mode == "autoaccel":
        return [sys.executable, "-m", "autoaccel", "--report-json", "-", script]
    if mode == "njit":
        return [sys.executable, str(ROOT / "benchmarks" / "handwritten" / f"{example}_njit.py")]
    return [sys.executable, script]


def _run_process(command: list[str], report: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) and stdout of one process."""
    command = [str(report) if part == "-" else part for part in command]
    start = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    stdout = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {process.returncode}")
    return seconds, usage.ru_maxrss, stdout


def whole_process(example: str, runs: int, report: Path) -> dict:
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    memory: dict[str, int] = {}
    outputs: dict[str, set[str]] = {mode: set() for mode in MODES}
    for _ in range(runs):
        for mode in MODES:
            seconds, rss, stdout = _run_process(_command(mode, example), report)
            times[mode].append(seconds)
            memory[mode] = max(memory.get(mode, 0), rss)
            outputs[mode].add(stdout)
    states = [f["state"] for f in json.loads(report.read_text())["functions"]]
    reference = outputs["plain"]
    return {
        "seconds": {mode: statistics.median(values) for mode, values in times.items()},
        "peak_rss_mib": {mode: round(kib / 1024, 1) for mode, kib in memory.items()},
        "identical_output": len(reference) == 1 and all(outputs[m] == reference for m in MODES),
        "promoted": states.count("promoted"),
        "rejected": states.count("rejected"),
    }


def steady_state(example: str) -> dict:
    result = {}
    for mode in (*MODES, "autoaccel-nobc"):
        output = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "steady.py"), mode, example],
            capture_output=True,
            text=True,
            check=True,
        )
        result[mode] = json.loads(output.stdout)["seconds"]
    return result


def overhead() -> dict:
    output = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "overhead.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(output.stdout)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x"


def markdown(results: dict) -> str:
    lines = [
        f"Measured {results['date']} on {results['machine']}, Python {results['python']}, "
        f"{results['runs']} interleaved runs per mode (median), with `{results['command']}`.",
        "",
        "Whole process (wall seconds, including start-up, Numba import and compilation):",
        "",
        "| example | plain | autoaccel | hand-written njit | plain / autoaccel | autoaccel / njit | same output | promoted / rejected | peak RSS MiB (plain / aa / njit) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["examples"].items():
        s, m = r["whole"]["seconds"], r["whole"]["peak_rss_mib"]
        lines.append(
            f"| {name} | {s['plain']:.2f} | {s['autoaccel']:.2f} | {s['njit']:.2f} | "
            f"{_ratio(s['plain'], s['autoaccel'])} | {_ratio(s['autoaccel'], s['njit'])} | "
            f"{'yes' if r['whole']['identical_output'] else 'NO'} | "
            f"{r['whole']['promoted']} / {r['whole']['rejected']} | {m['plain']} / {m['autoaccel']} / {m['njit']} |"
        )
    lines += [
        "",
        "Steady state (seconds per `workload()` call after warm-up, median of 5):",
        "",
        "| example | plain | autoaccel | autoaccel, boundscheck off | hand-written njit | plain / autoaccel | autoaccel / njit | boundscheck off / njit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["examples"].items():
        s = r["steady"]
        lines.append(
            f"| {name} | {s['plain']:.4f} | {s['autoaccel']:.4f} | {s['autoaccel-nobc']:.4f} | "
            f"{s['njit']:.4f} | {_ratio(s['plain'], s['autoaccel'])} | "
            f"{_ratio(s['autoaccel'], s['njit'])} | {_ratio(s['autoaccel-nobc'], s['njit'])} |"
        )
    lines += [
        "",
        "Trampoline costs (ns per call, call overhead of an empty lambda subtracted):",
        "",
        "| case | ns |",
        "|---|---|",
    ]
    lines += [f"| {case} | {ns:.0f} |" for case, ns in results["overhead"].items()]
    return "\n".join(lines)


def write_docs(text: str) -> None:
    path = ROOT / "docs" / "performance.md"
    document = path.read_text()
    before, rest = document.split(START, 1)
    _, after = rest.split(END, 1)
    path.write_text(f"{before}{START}\n{text}\n{END}{after}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="whole-process runs per mode (default 3)"
    )
    parser.add_argument("--examples", default=",".join(EXAMPLES), help="comma-separated subset")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/performance.md")
    options = parser.parse_args()
    report = ROOT / "benchmarks" / "results" / "last-report.json"
    report.parent.mkdir(exist_ok=True)
    results = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "runs": options.runs,
        "command": "python benchmarks/run.py"
        + (f" --runs {options.runs}" if options.runs != 3 else ""),
        "examples": {},
    }
    for example in options.examples.split(","):
        print(f"benchmarking {example} ...", file=sys.stderr)
        results["examples"][example] = {
            "whole": whole_process(example, options.runs, report),
            "steady": steady_state(example),
        }
    results["overhead"] = overhead()
    (ROOT / "benchmarks" / "results" / "latest.json").write_text(
        json.dumps(results, indent=2) + "\n"
    )
    text = markdown(results)
    print(text)
    if not options.no_docs:
        write_docs(text)


if __name__ == "__main__":
    main()

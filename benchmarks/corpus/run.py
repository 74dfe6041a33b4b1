"""The corpus harness: real pure-Python PyPI packages under CPython, autoaccel and PyPy.

Usage: ``python benchmarks/corpus/run.py [--packages a,b] [--runs N] [--modes m,n] [--quick]
[--pypy PATH] [--label NAME] [--output FILE]``.

Each package has a driver, ``benchmarks/corpus/<name>/driver.py`` (a realistic workload through
the package's public API, printing a digest of every answer), and the autoaccel configuration
beside it, ``python_optimizer.toml``, which selects the package's modules. Modes, each run in a
fresh process in a new temporary working directory:

* ``plain``: ``python driver.py``;
* ``default``: ``python -m autoaccel --report-json report.json driver.py``, with the package's
  configuration as it is (``min_calls = 20``, ``min_gain = 1.2``) and a new empty cache
  directory (``AUTOACCEL_CACHE_DIR``);
* ``forced``: the same with ``AUTOACCEL_MIN_CALLS=1`` and ``AUTOACCEL_MIN_GAIN=0``, so every
  variant that answers identically is promoted, whatever its speed;
* ``warm``: ``default`` again, reusing the cache directory of that run's ``default`` process
  (a user's second run); it always runs right after it;
* ``pypy``: the driver under PyPy, where the interpreter (``--pypy``; by default
  ``.venv-pypy/bin/python`` in the repository, else ``pypy3`` on PATH) imports the same version
  of the package; otherwise the reason it was skipped is recorded.

Modes are interleaved run by run (the order rotates each run, as in ``benchmarks/run.py``), so
that drift of a shared machine falls on all of them. Per package and mode it records the wall
time of the whole process (median of ``--runs``), the peak RSS, whether the output (stdout) is
identical to the first plain run's in every run, a failure's exit status and stderr, and for the
autoaccel modes the report's decisions: functions promoted, rejected and interpreted, the
promoted ones with their signatures and speed-ups, and the refusal reasons grouped with their
signatures, names and numbers stripped (``reason_group``).

The results go to ``benchmarks/results/corpus-<label>.json`` and the markdown tables to
``corpus-<label>.md`` beside it (and stdout); docs/reach.md explains them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BENCHMARKS))  # the suite's helpers: benchmarks/{suite,run}.py
import run as suite_run  # noqa: E402
import suite  # noqa: E402

CORPUS = BENCHMARKS / "corpus"
RESULTS = BENCHMARKS / "results"
ROOT = BENCHMARKS.parent
MODES = ("plain", "default", "forced", "warm", "pypy")
AUTOACCEL_MODES = ("default", "forced", "warm")
# Corpus name (the driver's folder) -> the distribution that pip installs, whose version is
# recorded and must match under PyPy. The pins are in pyproject.toml's ``corpus`` extra.
PACKAGES = {
    "reedsolo": "reedsolo",
    "crcmod": "crcmod",
    "strsimpy": "strsimpy",
    "filterpy": "filterpy",
    "nolds": "nolds",
    "py_lets_be_rational": "py_lets_be_rational",
    "sgp4": "sgp4",
    "pypng": "pypng",
    "munkres": "munkres",
    "perlin_noise": "perlin-noise",
    "geographiclib": "geographiclib",
}
FORCED = {"AUTOACCEL_MIN_CALLS": "1", "AUTOACCEL_MIN_GAIN": "0"}
TOP_REASONS = 5
# Argument types named as they are in grouped refusal reasons (see reason_group).
BUILTIN_TYPES = frozenset(
    [
        "bytearray",
        "bytes",
        "str",
        "dict",
        "set",
        "frozenset",
        "list",
        "tuple",
        "memoryview",
        "function",
        "NoneType",
        "complex",
        "range",
        "BytesIO",
        "array",
    ]
)


def driver(name: str) -> Path:
    """The driver script of package ``name``."""
    return CORPUS / name / "driver.py"


def installed_version(distribution: str) -> str | None:
    """The version of ``distribution`` installed for this Python, or ``None``."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def environment(cache: Path, mode: str, quick: bool) -> dict[str, str]:
    """The environment of one measured process, with autoaccel's cache directory ``cache``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AUTOACCEL_")}
    # As in benchmarks/suite.py: installed packages import from .pyc files, as a user's do.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("CORPUS_QUICK", None)  # the workload size is chosen by --quick alone
    env["AUTOACCEL_CACHE_DIR"] = str(cache)
    if mode == "forced":
        env.update(FORCED)
    return env


def command(name: str, mode: str, pypy: str | None, quick: bool) -> list[str]:
    """The command line of one run of ``name`` in ``mode`` (run in its working directory)."""
    script = [str(driver(name)), *(["--quick"] if quick else [])]
    if mode == "plain":
        return [sys.executable, *script]
    if mode in AUTOACCEL_MODES:
        return [sys.executable, "-m", "autoaccel", "--report-json", "report.json", *script]
    if mode == "pypy" and pypy is not None:
        return [pypy, *script]
    raise ValueError(f"no mode {mode!r}")


@dataclass
class Run:
    """What one process did."""

    seconds: float | None  # wall time of the whole process; None if it failed
    peak_rss_kib: int
    output: str  # stdout
    report: dict | None = None  # autoaccel's --report-json data
    error: str | None = None  # exit status and the end of stderr, if it failed
    warnings: list[str] = field(default_factory=list)  # stderr lines that mention autoaccel


def run_once(name: str, mode: str, cache: Path, pypy: str | None, quick: bool) -> Run:
    """One process of ``name`` in ``mode``, in a new working directory; failures are recorded."""
    with tempfile.TemporaryDirectory(prefix=f"aa-corpus-{name}-") as folder:
        directory = Path(folder)
        try:
            seconds, rss, stdout = suite._timed_process(
                command(name, mode, pypy, quick), directory, environment(cache, mode, quick)
            )
        except RuntimeError as failure:  # a crash under autoaccel is a finding, not an abort
            return Run(None, 0, "", error=str(failure)[-3000:])
        stderr = (directory / "stderr.txt").read_text(errors="replace")
        data = directory / "report.json"
        return Run(
            seconds,
            rss,
            stdout,
            report=json.loads(data.read_text()) if data.exists() else None,
            warnings=[line for line in stderr.splitlines() if "autoaccel" in line.lower()][:10],
        )


def reason_group(reason: str) -> str:
    """A refusal reason without signatures, names and numbers, so that like reasons group.

    Like ``report.reason_kind`` (benchmarks/report.py), but an argument of a built-in type
    keeps its type (``takes a bytearray argument``: the kinds of data the engine is to unbox
    next); only instances of the packages' own classes become ``an object``. Also strips the
    names of globals and closure variables, quoted names and numbers, and keeps the first line
    of a multi-line (compiler) message.
    """
    lines = reason.strip().splitlines()
    reason = lines[0] if lines else ""
    reason = re.sub(r"^\(.*?\): ", "", reason)  # the argument types of the refused call
    reason = re.sub(r" \[\d+\]", "", reason)  # the row of shared/numba-divergences.md
    reason = re.sub(
        r"takes an? (\w+) argument",
        lambda m: m[0] if m[1] in BUILTIN_TYPES else "takes an object argument",
        reason,
    )
    reason = re.sub(r"speed-up [\d.]+x", "speed-up", reason)
    reason = re.sub(r"\b(global|class|attribute) [\w.]+", r"\1 X", reason)
    reason = re.sub(r"\bclosure over [\w.]+(, [\w.]+)* \(", "closure over X (", reason)
    reason = re.sub(r": calls [\w.]+$", ": calls X", reason)
    reason = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`", "'X'", reason)
    reason = re.sub(r"\d+(\.\d+)?", "N", reason)
    return reason[:160]


def decisions(data: dict | None) -> dict:
    """Counts, promoted functions and loops, and grouped refusal reasons from one report."""
    functions = (data or {"functions": []})["functions"]
    loops = (data or {}).get("loops", [])
    by_state = Counter(f["state"] for f in functions)
    rejected = Counter(
        reason_group(f["reason"] or "") for f in functions if f["state"] == "rejected"
    )
    interpreted = Counter(
        reason_group(f["reason"] or "") for f in functions if f["state"] == "interpreted"
    )
    return {
        "functions": len(functions),
        "promoted": by_state["promoted"],
        "rejected": by_state["rejected"],
        "interpreted": by_state["interpreted"],
        "called": sum(f["calls"] > 0 for f in functions),
        # Every compile and load, rejected variants' included, functions' and loops'.
        "compile_s": round(sum(f.get("compile_seconds", 0.0) for f in [*functions, *loops]), 3),
        "loops_promoted": sum(loop["state"] == "promoted" for loop in loops),
        "loops_ran": sum(loop["calls"] > 0 for loop in loops),
        "promoted_loops": [
            {
                "name": loop["name"],
                "runs": loop["calls"],
                "variants": [[v["signature"], v["speedup"]] for v in loop["variants"]],
            }
            for loop in loops
            if loop["state"] == "promoted"
        ],
        "promoted_functions": [
            {
                "name": f["name"],
                "calls": f["calls"],
                "variants": [[v["signature"], v["speedup"]] for v in f["variants"]],
            }
            for f in functions
            if f["state"] == "promoted"
        ],
        "rejected_reasons": rejected.most_common(),
        "interpreted_reasons": interpreted.most_common(),
        # The functions that did the work: rejected or interpreted ones that were called most.
        "hottest_unpromoted": [
            {"name": f["name"], "calls": f["calls"], "state": f["state"], "reason": f["reason"]}
            for f in sorted(functions, key=lambda f: -f["calls"])
            if f["state"] != "promoted" and f["calls"] > 0
        ][:8],
        # Every function, so that reasons can be regrouped later without rerunning.
        "all": [{key: f[key] for key in ("name", "calls", "state", "reason")} for f in functions],
    }


def summarize(mode: str, runs: list[Run], reference: Run) -> dict:
    """One mode's figures over its runs; outputs are compared with the first plain run's."""
    times = [run.seconds for run in runs if run.seconds is not None]
    result = {
        "whole_s": statistics.median(times) if times else None,
        "whole_runs_s": [None if run.seconds is None else round(run.seconds, 4) for run in runs],
        "peak_rss_mib": round(max(run.peak_rss_kib for run in runs) / 1024, 1),
        "same_output": all(run.error is None and run.output == reference.output for run in runs),
        "errors": [run.error for run in runs if run.error is not None],
        "warnings": sorted({line for run in runs for line in run.warnings}),
    }
    if mode in AUTOACCEL_MODES:
        last = next((run for run in reversed(runs) if run.report is not None), None)
        result["decisions"] = decisions(last.report if last else None)
        result["promoted_runs"] = [decisions(run.report)["promoted"] for run in runs]
    return result


def pypy_skip_reason(pypy: str | None, distribution: str) -> str | None:
    """Why ``pypy`` cannot run a package's driver as CPython does, or ``None`` if it can."""
    if pypy is None:
        return "no PyPy interpreter"
    probe = subprocess.run(
        [pypy, "-c", f"import importlib.metadata as m; print(m.version({distribution!r}))"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"{distribution} is not installed for PyPy"
    version, wanted = probe.stdout.strip(), installed_version(distribution)
    if version != wanted:
        return f"PyPy has {distribution} {version}, CPython {wanted}"
    return None


def _order(modes: list[str], run: int) -> list[str]:
    """This run's order: the modes rotated, with ``warm`` right after the ``default`` it reuses."""
    order = suite_run._rotated([mode for mode in modes if mode != "warm"], run)
    if "warm" in modes:
        order.insert(order.index("default") + 1, "warm")
    return order


def measure_package(name: str, modes: list[str], runs: int, pypy: str | None, quick: bool):
    """Every mode of one package, ``runs`` times, interleaved."""
    distribution = PACKAGES[name]
    result: dict = {"distribution": distribution, "version": installed_version(distribution)}
    if "pypy" in modes:
        skip = pypy_skip_reason(pypy, distribution)
        if skip is not None:
            modes = [mode for mode in modes if mode != "pypy"]
            result["pypy_skipped"] = skip
    measured: dict[str, list[Run]] = {mode: [] for mode in modes}
    for index in range(runs):
        with tempfile.TemporaryDirectory(prefix=f"aa-corpus-cache-{name}-") as caches:
            for mode in _order(modes, index):
                print(f"  {name}: run {index + 1}/{runs}, {mode}", file=sys.stderr)
                # warm reuses default's cache directory; every other mode gets a new one.
                cache = Path(caches) / ("default" if mode == "warm" else mode)
                measured[mode].append(run_once(name, mode, cache, pypy, quick))
    reference = measured["plain"][0]
    if reference.error is not None:
        result["error"] = reference.error
        return result
    result["modes"] = {mode: summarize(mode, runs, reference) for mode, runs in measured.items()}
    return result


def _ratio(modes: dict, mode: str) -> str:
    seconds, plain = modes.get(mode, {}).get("whole_s"), modes["plain"]["whole_s"]
    if mode not in modes:
        return "—"
    if seconds is None:
        return "**crash**"
    same = "" if modes[mode]["same_output"] else " **≠**"
    return f"{seconds / plain:.2f}x{same}"


def markdown(results: dict) -> str:
    """The summary table and the per-package reasons, as markdown."""
    lines = [
        "| package | version | plain s | default | forced | warm | PyPy | "
        "default: promoted / rejected / interpreted | forced: promoted | "
        "loops promoted / ran (default) |",
        "|---|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for name, package in results["packages"].items():
        if "modes" not in package:
            lines.append(f"| {name} | {package['version']} | plain run failed | | | | | | | |")
            continue
        modes = package["modes"]
        default = modes.get("default", {}).get("decisions", {})
        forced = modes.get("forced", {}).get("decisions", {})
        counts = "/".join(
            str(default.get(key, "—")) for key in ("promoted", "rejected", "interpreted")
        )
        cells = [
            name,
            package["version"],
            f"{modes['plain']['whole_s']:.2f}",
            *(_ratio(modes, mode) for mode in ("default", "forced", "warm", "pypy")),
            counts,
            str(forced.get("promoted", "—")),
            f"{default.get('loops_promoted', '—')} / {default.get('loops_ran', '—')}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Ratios are the mode's median whole-process time over plain CPython's; "
        "**≠** marks output that differs from plain CPython's.",
        "",
    ]
    for name, package in results["packages"].items():
        default = package.get("modes", {}).get("default", {}).get("decisions")
        if default is None:
            continue
        reasons = "; ".join(
            f"{reason} ({count})" for reason, count in default["rejected_reasons"][:TOP_REASONS]
        )
        promoted = ", ".join(
            f"`{f['name']}`" for f in [*default["promoted_functions"], *default["promoted_loops"]]
        )
        lines.append(f"- **{name}**: promoted {promoted or 'none'}; refused: {reasons or 'none'}")
    return "\n".join(lines) + "\n"


def default_pypy() -> str | None:
    """The repository's PyPy virtual environment if there is one, else ``pypy3`` on PATH."""
    local = ROOT / ".venv-pypy" / "bin" / "python"
    return str(local) if local.exists() else shutil.which("pypy3")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--packages", help=f"comma-separated subset of {','.join(PACKAGES)}")
    parser.add_argument("--runs", type=int, default=3, help="runs per package and mode (3)")
    parser.add_argument("--modes", help=f"comma-separated subset of {','.join(MODES)}")
    parser.add_argument("--quick", action="store_true", help="the drivers' reduced workloads")
    parser.add_argument("--pypy", default=default_pypy(), help="PyPy interpreter")
    parser.add_argument("--label", default="latest", help="results name: corpus-LABEL.json")
    parser.add_argument("--output", type=Path, help="results file (default from --label)")
    options = parser.parse_args(argv)
    options.packages = options.packages.split(",") if options.packages else list(PACKAGES)
    options.modes = options.modes.split(",") if options.modes else list(MODES)
    unknown = set(options.packages) - set(PACKAGES) | set(options.modes) - set(MODES)
    if unknown or "plain" not in options.modes:
        parser.error(f"unknown packages or modes {sorted(unknown)}, or no 'plain' mode")
    if "warm" in options.modes and "default" not in options.modes:
        parser.error("'warm' reuses the cache of a 'default' run: add 'default'")
    if options.output is None:
        options.output = RESULTS / f"corpus-{options.label}.json"
    return options


def main(argv: list[str] | None = None) -> None:
    """Measure the packages, write the JSON results and the markdown tables."""
    options = parse_args(argv)
    pypy = options.pypy if "pypy" in options.modes else None
    started = time.perf_counter()
    results = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        **suite_run._versions(pypy),
        "numpy": installed_version("numpy"),
        "command": " ".join(["python", "benchmarks/corpus/run.py", *(argv or sys.argv[1:])]),
        "runs": options.runs,
        "quick": options.quick,
        "packages": {},
    }
    for name in options.packages:
        if installed_version(PACKAGES[name]) is None:
            print(f"skipping {name}: {PACKAGES[name]} is not installed", file=sys.stderr)
            continue
        print(f"measuring {name} ...", file=sys.stderr)
        results["packages"][name] = measure_package(
            name, options.modes, options.runs, pypy, options.quick
        )
    results["duration_s"] = round(time.perf_counter() - started, 1)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    options.output.with_suffix(".md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()

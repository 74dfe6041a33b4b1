"""Tables and chart of a benchmark results file (``benchmarks/run.py`` writes one).

Usage: ``python benchmarks/report.py [RESULTS.json] [--docs]``: prints the markdown tables
of RESULTS (default ``benchmarks/results/latest.json``); with ``--docs`` also writes them
between the markers in ``docs/performance.md`` and redraws ``docs/performance.png``.

Ratios are autoaccel's time over the other mode's time: below 1.00x autoaccel is faster.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
CHART = ROOT / "docs" / "performance.png"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
OTHERS = ("plain", "njit", "pypy")
LABELS = {"plain": "plain", "autoaccel": "autoaccel", "njit": "njit", "pypy": "PyPy"}
MISSING = "—"


def _seconds(value: float | None) -> str:
    if value is None:
        return MISSING
    return f"{value:#.3g}" if value < 100 else f"{value:.0f}"  # three significant digits


def _ratio(modes: dict, key: str, other: str) -> str:
    numerator = modes.get("autoaccel", {}).get(key)
    denominator = modes.get(other, {}).get(key)
    if numerator is None or not denominator:
        return MISSING
    return _times(numerator / denominator)


def _times(ratio: float) -> str:
    # Two decimals, or two significant digits below 0.1 (autoaccel at 1/200 of plain's time).
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


def _same(modes: dict) -> str:
    marks = []
    for mode in ("autoaccel", "njit", "pypy"):
        if mode in modes:
            marks.append("yes" if modes[mode]["same_output"] else "**NO**")
        else:
            marks.append(MISSING)
    return " / ".join(marks)


def _steady_extra(modes: dict) -> list[str]:
    aa = modes["autoaccel"]
    return [_same(modes), f"{aa['promoted']} / {aa['rejected']}"]


def _whole_extra(modes: dict) -> list[str]:
    rss = [str(modes[m]["peak_rss_mib"]) if m in modes else MISSING for m in LABELS]
    return [" / ".join(rss), f"{modes['autoaccel']['compile_s']:.2f}"]


def _timing_table(
    results: dict, key: str, extra_head: tuple[str, ...], extra: Callable[[dict], list[str]]
) -> list[str]:
    head = ["program", *LABELS.values(), *(f"aa / {LABELS[other]}" for other in OTHERS)]
    head += extra_head
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, program in results["programs"].items():
        modes = program["modes"]
        cells = [name, *(_seconds(modes.get(m, {}).get(key)) for m in LABELS)]
        cells += [_ratio(modes, key, other) for other in OTHERS]
        lines.append("| " + " | ".join([*cells, *extra(modes)]) + " |")
    return lines


def _boundscheck_table(results: dict) -> list[str]:
    lines = [
        "| example | autoaccel | autoaccel, boundscheck off | njit | aa / njit | boundscheck off / njit |",
        "|---|---|---|---|---|---|",
    ]
    for name, program in results["programs"].items():
        modes = program["modes"]
        off = modes.get("autoaccel", {}).get("steady_boundscheck_off_s")
        if off is None or "njit" not in modes:
            continue
        on, njit = modes["autoaccel"]["steady_s"], modes["njit"]["steady_s"]
        lines.append(
            f"| {name} | {_seconds(on)} | {_seconds(off)} | {_seconds(njit)} | "
            f"{_times(on / njit)} | {_times(off / njit)} |"
        )
    return lines if len(lines) > 2 else []


def reason_kind(reason: str) -> str:
    """A rejection reason without its signature, numbers and class names, for grouping."""
    reason = re.sub(r"^\(.*?\): ", "", reason)  # the argument types of the rejected call
    reason = re.sub(r" \(line \d+\)$", "", reason)  # the construct's line
    reason = re.sub(r" \[\d+\]$", "", reason)  # the row of docs/divergences.md
    reason = re.sub(r"takes an? \w+ argument,", "takes an object argument,", reason)
    return re.sub(r"speed-up [\d.]+x", "speed-up", reason)


def _decisions_table(results: dict) -> list[str]:
    lines = [
        "| program | promoted | rejected: most common reasons (number of functions) |",
        "|---|---|---|",
    ]
    for name, program in results["programs"].items():
        functions = program["modes"]["autoaccel"]["functions"]
        promoted = [
            f"`{f['name'].removeprefix('__main__.')}`"
            for f in functions
            if f["state"] == "promoted"
        ]
        reasons = Counter(reason_kind(f["reason"]) for f in functions if f["state"] == "rejected")
        shown = [f"{reason} ({count})" for reason, count in reasons.most_common(3)]
        rest = sum(reasons.values()) - sum(count for _, count in reasons.most_common(3))
        if rest:
            shown.append(f"{rest} more")
        lines.append(f"| {name} | {', '.join(promoted) or 'none'} | {'; '.join(shown) or 'none'} |")
    return lines


def _overhead_table(results: dict) -> list[str]:
    lines = ["| case | autoaccel | baseline | baseline is |", "|---|---|---|---|"]
    for row in results["overhead"]:
        unit = row["unit"]
        lines.append(
            f"| {row['case']} | {row['autoaccel']:.1f} {unit} | {row['baseline']:.1f} {unit} | "
            f"{row['baseline_case']} |"
        )
    return lines


def markdown(results: dict) -> str:
    """The tables of ``results`` as markdown."""
    pypy = results.get("pypy", "no PyPy interpreter found (PyPy columns empty)")
    lines = [
        f"Measured {results['date']} on {results['machine']}: CPython {results['python']}, "
        f"Numba {results['numba']}, {pypy}. {results['runs']} interleaved runs per program "
        f"and mode (medians); pyperformance scripts with {results['warmups']} warm-up and "
        f"{results['values']} measured values. Command: `{results['command']}` "
        f"({results['duration_s'] / 60:.0f} min).",
        "",
        f"![Speed-up over plain CPython, steady state and whole process]({CHART.name})",
        "",
        "Steady state (seconds per value after warm-up; ratios: autoaccel's time / the other's):",
        "",
        *_timing_table(
            results,
            "steady_s",
            ("same output (aa / njit / PyPy)", "promoted / rejected"),
            _steady_extra,
        ),
        "",
        "Whole process (wall seconds, including start-up, imports, warm-up and compilation):",
        "",
        *_timing_table(
            results,
            "whole_s",
            ("peak RSS MiB (plain / aa / njit / PyPy)", "aa compile s"),
            _whole_extra,
        ),
    ]
    boundscheck = _boundscheck_table(results)
    if boundscheck:
        lines += ["", "Examples, steady state, with autoaccel's bounds checking off:", ""]
        lines += boundscheck
    lines += ["", "What autoaccel decided (`--report-json` of the last autoaccel run):", ""]
    lines += _decisions_table(results)
    lines += ["", "autoaccel's own costs (`benchmarks/overhead.py`):", ""]
    lines += _overhead_table(results)
    return "\n".join(lines)


def chart(results: dict, path: Path) -> None:
    """A bar chart of each mode's speed-up over plain CPython (log scale), written to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["programs"])
    modes = ("autoaccel", "njit", "pypy")
    figure, axes = plt.subplots(2, 1, figsize=(11, 7.5), sharex=True)
    for axis, key, title in zip(
        axes, ("steady_s", "whole_s"), ("steady state", "whole process"), strict=True
    ):
        for index, mode in enumerate(modes):
            xs, ys = [], []
            for position, name in enumerate(names):
                program = results["programs"][name]["modes"]
                if mode in program and program[mode].get(key) and program["plain"].get(key):
                    xs.append(position + (index - 1) * 0.27)
                    ys.append(program["plain"][key] / program[mode][key])
            # Bars grow from 1 (as fast as CPython): up is faster, down is slower.
            heights = [y - 1.0 for y in ys]
            axis.bar(xs, heights, width=0.27, bottom=1.0, label=LABELS[mode])
        axis.axhline(1.0, color="black", linewidth=0.8)
        axis.set_yscale("log")
        axis.set_ylabel(f"speed-up over CPython,\n{title}")
        axis.grid(axis="y", which="both", alpha=0.3)
    axes[0].legend(ncol=3, loc="upper left")
    axes[1].set_xticks(range(len(names)), names, rotation=30, ha="right")
    figure.suptitle(f"autoaccel benchmark suite, {results['date']} (higher is faster)")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def write_docs(results: dict) -> None:
    """Replace the tables between the markers in docs/performance.md and redraw the chart."""
    document = DOC.read_text()
    before, rest = document.split(START, 1)
    _, after = rest.split(END, 1)
    DOC.write_text(f"{before}{START}\n{markdown(results)}\n{END}{after}")
    chart(results, CHART)


def main() -> None:
    """Print (and with ``--docs`` write) the tables of a results file."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "results", nargs="?", type=Path, default=ROOT / "benchmarks" / "results" / "latest.json"
    )
    parser.add_argument("--docs", action="store_true", help="write docs/performance.md and .png")
    options = parser.parse_args()
    results = json.loads(options.results.read_text())
    print(markdown(results))
    if options.docs:
        write_docs(results)


if __name__ == "__main__":
    main()

"""Flag performance regressions between two benchmark results files.

Usage: ``python benchmarks/compare.py OLD.json NEW.json [--threshold FRACTION]``.

Both files come from ``benchmarks/run.py`` on the same machine (say main and a branch). Every
compared figure is a time ratio in which lower is better and the machine's speed cancels:

* per program, autoaccel's time over plain CPython's in the same run, steady state and whole
  process;
* per row of autoaccel's own costs, autoaccel's figure over its baseline (the plain
  function, the hand-written njit dispatcher, the plain import...).

A figure regressed when NEW > OLD * (1 + threshold). The default threshold, 0.10, is above
the run-to-run noise of the 2-core development machine when nothing else ran: between two
full runs of the same code, no ratio moved by more than 6.3%. While other work loaded the
machine during one of two runs, single ratios moved by up to 55%, so compare runs made under
the same conditions, and rerun a flagged program (``run.py --programs``) before believing it.
A program whose output matched plain CPython's in OLD but not in NEW is a regression whatever
the threshold. Programs, modes or rows missing from either file are listed and skipped.

Exit status: 1 if anything regressed, else 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_THRESHOLD = 0.10


@dataclass(frozen=True)
class Change:
    """One compared figure."""

    name: str
    old: float
    new: float

    @property
    def factor(self) -> float:
        """NEW / OLD (above 1: worse)."""
        return self.new / self.old

    def regressed(self, threshold: float) -> bool:
        """Worse than OLD by more than ``threshold`` (a fraction)."""
        return self.factor > 1 + threshold


def ratios(results: dict) -> dict[str, float]:
    """Every compared figure of one results file, by name (lower is better)."""
    figures = {}
    for name, program in results["programs"].items():
        modes = program["modes"]
        if "autoaccel" not in modes:
            continue
        for key, label in (("steady_s", "steady state"), ("whole_s", "whole process")):
            accelerated, plain = modes["autoaccel"].get(key), modes["plain"].get(key)
            if accelerated and plain:
                figures[f"{name}, {label}: autoaccel / plain"] = accelerated / plain
    for row in results.get("overhead", []):
        if row["baseline"] > 0:
            figures[f"{row['case']}: autoaccel / baseline"] = row["autoaccel"] / row["baseline"]
    return figures


def lost_outputs(old: dict, new: dict) -> list[str]:
    """Program and mode pairs whose output matched plain CPython's in OLD but not in NEW."""
    lost = []
    for name, program in new["programs"].items():
        before = old["programs"].get(name, {}).get("modes", {})
        for mode, figures in program["modes"].items():
            if before.get(mode, {}).get("same_output") and not figures["same_output"]:
                lost.append(f"{name} ({mode})")
    return lost


def compare(old: dict, new: dict) -> tuple[list[Change], list[str]]:
    """The figures present in both files, and those present in only one."""
    before, after = ratios(old), ratios(new)
    changes = [Change(name, before[name], after[name]) for name in after if name in before]
    missing = sorted(set(before) ^ set(after))
    return changes, missing


def report(old: dict, new: dict, threshold: float) -> tuple[str, bool]:
    """A plain-text comparison, and whether anything regressed."""
    changes, missing = compare(old, new)
    lost = lost_outputs(old, new)
    lines = [f"{'figure':<70} {'old':>9} {'new':>9} {'change':>8}"]
    regressed = bool(lost)
    for change in changes:
        flag = ""
        if change.regressed(threshold):
            flag, regressed = "  REGRESSION", True
        elif change.factor < 1 / (1 + threshold):
            flag = "  faster"
        lines.append(
            f"{change.name:<70} {change.old:>9.3f} {change.new:>9.3f} "
            f"{change.factor - 1:>+8.1%}{flag}"
        )
    lines += [f"REGRESSION: output differs from plain CPython now: {item}" for item in lost]
    lines += [f"skipped (in one file only): {name}" for name in missing]
    verdict = "regressions found" if regressed else "no regression"
    lines.append(f"{verdict} (threshold {threshold:.0%})")
    return "\n".join(lines), regressed


def main(argv: list[str] | None = None) -> int:
    """Compare two results files; return the exit status."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("old", type=Path, help="baseline results (benchmarks/run.py output)")
    parser.add_argument("new", type=Path, help="results to check")
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help=f"allowed worsening of a ratio, as a fraction (default {DEFAULT_THRESHOLD})",
    )
    options = parser.parse_args(argv)
    old, new = (json.loads(path.read_text()) for path in (options.old, options.new))
    text, regressed = report(old, new, options.threshold)
    print(text)
    return 1 if regressed else 0


if __name__ == "__main__":
    sys.exit(main())

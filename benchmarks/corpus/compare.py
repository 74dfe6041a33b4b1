"""Two autoaccel trees on the corpus, interleaved: is a change faster on real code?

Usage: ``python benchmarks/corpus/compare.py BASE_TREE [--packages a,b] [--runs N]
[--output FILE]``.

``BASE_TREE`` is a checkout of another commit (``git worktree add /tmp/base <commit>``, with its
C fast path built: ``python setup.py build_ext --inplace`` there); the tree this script is in
is the new one. For each package (``benchmarks/corpus/run.py``'s drivers and configurations),
each of ``--runs`` rounds runs, in an order that rotates each round: plain CPython; the base
tree's autoaccel with an empty cache directory (its first run), then again with that cache
(its warm run) and a third time (a later run: the first that the run ledger of
autoaccel/runtime/warm_start.py, written at the warm run's exit, can change); the same with
this tree's autoaccel. Each process starts in a new temporary
working directory, and the tree is chosen with ``PYTHONPATH``, which Python searches before
the editable install's finder. Output must equal plain CPython's in every run (a difference is
printed and recorded). Results: each mode's median wall time over plain CPython's, printed as a
markdown table and written as JSON (``--output``, default
``benchmarks/results/corpus-compare.json``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
from pathlib import Path

# The corpus harness, loaded under a name of its own: it imports benchmarks/run.py as ``run``.
_SPEC = importlib.util.spec_from_file_location(
    "corpus_run", Path(__file__).resolve().parent / "run.py"
)
assert _SPEC is not None and _SPEC.loader is not None
corpus = sys.modules["corpus_run"] = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(corpus)

PHASES = ("first", "warm", "later")
MODES = ("plain", *(f"{tree} {phase}" for tree in ("base", "new") for phase in PHASES))


def measure(name: str, base: Path, runs: int) -> dict:
    """Wall times (seconds) by mode, and the modes whose output differed, for one package."""
    seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
    differed: set[str] = set()
    reference = None
    trees = [("plain", None), ("base", base), ("new", corpus.ROOT)]
    for index in range(runs):
        for label, tree in trees[index % 3 :] + trees[: index % 3]:
            with tempfile.TemporaryDirectory(prefix=f"aa-compare-{name}-") as folder:
                directory = Path(folder)
                environment = corpus.environment(directory / "cache", "default", False)
                if tree is None:
                    took, _, output = corpus.suite._timed_process(
                        corpus.command(name, "plain", None, False), directory, environment
                    )
                    reference = reference if reference is not None else output
                    seconds["plain"].append(took)
                    continue
                environment["PYTHONPATH"] = str(tree)
                for phase in PHASES:
                    took, _, output = corpus.suite._timed_process(
                        corpus.command(name, "default", None, False), directory, environment
                    )
                    seconds[f"{label} {phase}"].append(took)
                    if reference is not None and output != reference:
                        differed.add(f"{label} {phase}")
    return {
        "median_s": {mode: statistics.median(times) for mode, times in seconds.items()},
        "output_differs": sorted(differed),
    }


def table(results: dict) -> str:
    """The markdown table of ``results``: each mode's time over plain CPython's."""
    lines = [
        "| package | plain s | " + " | ".join(MODES[1:]) + " |",
        "|---|---:|" + "---:|" * (len(MODES) - 1),
    ]
    for name, result in results.items():
        median = result["median_s"]
        cells = []
        for mode in MODES[1:]:
            mark = " **≠**" if mode in result["output_differs"] else ""
            cells.append(f"{median[mode] / median['plain']:.2f}x{mark}")
        lines.append(f"| {name} | {median['plain']:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="the other commit's checkout")
    parser.add_argument("--packages", default=",".join(corpus.PACKAGES))
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--output", type=Path, default=corpus.RESULTS / "corpus-compare.json")
    options = parser.parse_args()
    if not (options.base / "autoaccel" / "__init__.py").is_file():
        raise SystemExit(f"{options.base}: not an autoaccel checkout (no autoaccel/__init__.py)")
    results = {}
    for name in options.packages.split(","):
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        results[name] = measure(name, options.base.resolve(), options.runs)
    options.output.write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()

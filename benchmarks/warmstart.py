"""First and second runs: autoaccel with its persistent cache vs ``@numba.njit(cache=True)``.

Usage: ``python benchmarks/warmstart.py [--runs N] [--examples a,b]``.

For each example, one round is: with an empty cache directory, run ``python -m autoaccel
examples/X/X.py`` twice (first run, second run), and run the hand-written port
(``benchmarks/handwritten/X_njit.py`` with every ``@numba.njit`` turned into
``@numba.njit(cache=True)``, in a temporary copy, ``NUMBA_CACHE_DIR`` empty) twice. Rounds
are repeated ``--runs`` times and the whole-process wall times' medians are printed as a
markdown table, with whether every promoted variant of autoaccel's second run came from the
cache and whether all four runs printed the same stdout. The measured processes import
autoaccel from .pyc files, as an installed package does (``PYTHONDONTWRITEBYTECODE`` is
dropped from their environment).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ("indicators", "mlkernels", "montecarlo", "mixed")


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - start, result.stdout


def _cached_port(example: str, folder: Path) -> Path:
    source = (ROOT / "benchmarks" / "handwritten" / f"{example}_njit.py").read_text()
    port = folder / f"{example}_njit.py"
    port.write_text(source.replace("@numba.njit\n", "@numba.njit(cache=True)\n"))
    return port


def one_round(example: str) -> dict:
    """Wall seconds of the four runs of one example, fresh caches, plus checks."""
    script = ROOT / "examples" / example / f"{example}.py"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {
            **os.environ,
            "AUTOACCEL_CACHE_DIR": str(folder / "autoaccel"),
            "NUMBA_CACHE_DIR": str(folder / "numba"),
        }
        # As for an installed package, autoaccel imports from .pyc files (see main()).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        port = _cached_port(example, folder)
        report = folder / "report.json"
        accelerated = [sys.executable, "-m", "autoaccel", "--report-json", str(report), str(script)]
        times, outputs = {}, []
        for run in ("first", "second"):
            times[f"autoaccel {run}"], out = _timed(accelerated, env)
            outputs.append(out)
            times[f"njit {run}"], out = _timed([sys.executable, str(port)], env)
            outputs.append(out)
        functions = json.loads(report.read_text())["functions"]
        variants = [v for f in functions for v in f["variants"]]
        shutil.rmtree(folder, ignore_errors=True)
    return {
        **times,
        "from_cache": bool(variants) and all(v["from_cache"] for v in variants),
        "same_output": len(set(outputs)) == 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds per example")
    parser.add_argument("--examples", default=",".join(EXAMPLES), help="comma-separated")
    options = parser.parse_args()
    # pip writes .pyc files when it installs a package; an editable checkout gets them on
    # its first import, so write them now rather than inside the first measured run.
    compileall.compile_dir(ROOT / "autoaccel", quiet=1)
    print(
        "| example | autoaccel 1st (s) | autoaccel 2nd (s) | njit(cache=True) 1st (s) "
        "| njit(cache=True) 2nd (s) | 2nd runs, autoaccel / njit | 2nd run from cache "
        "| same output |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for example in options.examples.split(","):
        rounds = [one_round(example) for _ in range(options.runs)]
        median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0] if " " in k}
        ratio = median["autoaccel second"] / median["njit second"]
        cached = all(r["from_cache"] for r in rounds)
        same = all(r["same_output"] for r in rounds)
        print(
            f"| {example} | {median['autoaccel first']:.2f} | {median['autoaccel second']:.2f} "
            f"| {median['njit first']:.2f} | {median['njit second']:.2f} | {ratio:.2f}x "
            f"| {'yes' if cached else 'no'} | {'yes' if same else 'no'} |"
        )


if __name__ == "__main__":
    main()

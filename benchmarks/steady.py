"""Steady-state kernel time of one example in one mode, printed as JSON on stdout.

Usage: ``python benchmarks/steady.py MODE EXAMPLE`` with MODE one of ``plain``,
``autoaccel``, ``autoaccel-nobc`` (the example's config with ``[jit] boundscheck = false``,
as the hand-written versions have), ``njit``. The example module is imported (not run as a script) and its
``workload()`` (a fixed batch of kernel calls) is called ``--warmup`` times, so that
autoaccel has counted, compiled, validated and promoted, then timed ``--repeat`` times.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load(mode: str, example: str):
    if mode == "njit":
        path = ROOT / "benchmarks" / "handwritten" / f"{example}_njit.py"
    else:
        path = ROOT / "examples" / example / f"{example}.py"
    sys.path.insert(0, str(path.parent))
    if mode.startswith("autoaccel"):
        import autoaccel
        from autoaccel import load_config

        overrides: dict = {"modules": [path.stem]}
        if mode == "autoaccel-nobc":
            overrides["jit"] = {"boundscheck": False}
        config = path.parent / "python_optimizer.toml"
        autoaccel.install(load_config(config_file=config, overrides=overrides))
    return importlib.import_module(path.stem)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["plain", "autoaccel", "autoaccel-nobc", "njit"])
    parser.add_argument("example")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    module = _load(options.mode, options.example)
    warmup = options.warmup if options.mode != "plain" else 1
    for _ in range(warmup):
        module.workload()
    times = []
    for _ in range(options.repeat):
        start = time.perf_counter()
        module.workload()
        times.append(time.perf_counter() - start)
    promoted = 0
    if options.mode.startswith("autoaccel"):
        import autoaccel

        promoted = sum(f["state"] == "promoted" for f in autoaccel.stats()["functions"])
    print(json.dumps({"seconds": statistics.median(times), "promoted": promoted}))


if __name__ == "__main__":
    main()

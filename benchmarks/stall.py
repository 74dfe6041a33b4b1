"""The longest stall of the calling thread while autoaccel compiles, foreground vs background.

Usage: ``python benchmarks/stall.py [--runs N]``.

A generated program calls four kernels in a loop until all four are promoted (at most 30 s)
and records the duration of every call. With compilation on the calling thread, the call that makes a kernel
hot waits for its compile; with ``background_compile = true`` a worker thread compiles and
the calls run the original meanwhile. The cache is off (``AUTOACCEL_CACHE=0``) so every run
compiles. Printed per mode (median over runs): the longest single call (the stall, ms), the
time until all four kernels were promoted (s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

PROGRAM = """
import json, sys, time
import numpy as np
import autoaccel.runtime.trampoline as trampolines

def k1(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * a[i]
    return s

def k2(a, b):
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        out[i] = a[i] * b + 1.0
    return out

def k3(a):
    m = a[0]
    for i in range(a.shape[0]):
        if a[i] > m:
            m = a[i]
    return m

def k4(a, n):
    s = 0.0
    for j in range(n):
        for i in range(a.shape[0]):
            s += a[i] / (j + 1.0)
    return s

a = np.linspace(0.0, 1.0, 2000)
longest, promoted_at = 0.0, None
start = time.perf_counter()
while promoted_at is None and time.perf_counter() - start < 30.0:
    for call in (lambda: k1(a), lambda: k2(a, 2.0), lambda: k3(a), lambda: k4(a, 3)):
        t0 = time.perf_counter()
        call()
        longest = max(longest, time.perf_counter() - t0)
    if promoted_at is None and all(
        trampolines.lookup(f).promotions for f in (k1, k2, k3, k4)
    ):
        promoted_at = time.perf_counter() - start
print(json.dumps({"longest": longest, "promoted_at": promoted_at}))
"""


def run(mode: str, folder: Path) -> dict:
    """One run of the program in a fresh process; ``mode`` is ``foreground`` or ``background``."""
    config = f"min_calls = 20\nbackground_compile = {'true' if mode == 'background' else 'false'}\n"
    (folder / "python_optimizer.toml").write_text(config)
    result = subprocess.run(
        [sys.executable, "-m", "autoaccel", str(folder / "program.py")],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "AUTOACCEL_CACHE": "0"},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per mode (interleaved)")
    options = parser.parse_args()
    results: dict[str, list[dict]] = {"foreground": [], "background": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "program.py").write_text(textwrap.dedent(PROGRAM))
        for _ in range(options.runs):
            for mode in results:
                results[mode].append(run(mode, folder))
    print("| compilation | longest call (ms) | all promoted after (s) |")
    print("|---|---|---|")
    for mode, runs in results.items():
        longest = statistics.median(r["longest"] for r in runs) * 1e3
        promoted = [r["promoted_at"] for r in runs if r["promoted_at"] is not None]
        at = f"{statistics.median(promoted):.2f}" if len(promoted) == len(runs) else "not all"
        print(f"| {mode} | {longest:.0f} | {at} |")


if __name__ == "__main__":
    main()

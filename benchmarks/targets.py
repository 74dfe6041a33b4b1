"""CPU njit vs parallel vs CUDA on three elementwise kernels, through autoaccel's own variants.

Usage: ``python benchmarks/targets.py [--quick] [--repeat N]``. For each target, a fresh
process installs autoaccel with only that target listed (``min_gain = 0``), promotes each
kernel of ``benchmarks/targets/target_kernels.py`` on small inputs (the promoted variant
serves any size of the same signature), then times calls at the benchmark sizes: the
median of ``--repeat`` calls through the trampoline, as the program sees them, so the CUDA
figures include the host-to-device and device-to-host transfers of every call. Results are
checked against the cpu target's within ``rtol = 1e-9``. ``cuda`` runs only where a GPU and
numba-cuda are present; elsewhere it is reported as skipped, with the reason.

Sizes: Black-Scholes over 10**7 options, pairwise distances of 20,000 x 64 points (a
20,000 x 20,000 result: 3.2 GB) and a Monte-Carlo kernel of 10**5 paths x 256 steps;
``--quick``: 10**6 options, 2,000 x 64 points and 10**4 paths x 256 steps.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
KERNELS = ("black_scholes", "pairwise", "monte_carlo")
FULL = {"black_scholes": 10**7, "pairwise": 20_000, "monte_carlo": 10**5}
QUICK = {"black_scholes": 10**6, "pairwise": 2_000, "monte_carlo": 10**4}
STEPS, DIMENSIONS = 256, 64


def inputs(kernel: str, size: int) -> tuple:
    """Deterministic arguments of ``kernel`` for ``size`` items."""
    rng = np.random.default_rng(7)
    if kernel == "black_scholes":
        spot, strike = rng.uniform(10, 100, size), rng.uniform(10, 100, size)
        return spot, strike, rng.uniform(0.1, 2.0, size), 0.02, 0.3
    if kernel == "pairwise":
        return (rng.standard_normal((size, DIMENSIONS)),)
    return rng.standard_normal((size, STEPS)), 100.0, 0.05, 0.2, 1 / 252, 100.0


def measure(target: str, sizes: dict, repeat: int, out: Path) -> None:
    """In this process: promote each kernel on ``target``, time it, save the results."""
    sys.path.insert(0, str(ROOT / "benchmarks" / "targets"))
    import autoaccel
    from autoaccel.backends.cuda import unavailable_reason
    from autoaccel.runtime.registry import lookup

    if target == "cuda" and unavailable_reason():
        out.write_text(json.dumps({"skipped": unavailable_reason()}))
        return
    settings = dict(min_calls=1, min_gain=0.0, validation_calls=1, cache=False, rtol=1e-9)
    autoaccel.install(modules=["target_kernels"], targets=[target], **settings)
    import target_kernels

    results: dict = {}
    for kernel in KERNELS:
        function = getattr(target_kernels, kernel)
        small = inputs(kernel, 64 if kernel != "pairwise" else 16)
        for _ in range(3):
            function(*small)
        promotions = lookup(function).promotions
        if not promotions or promotions[0].target != target:
            results[kernel] = {"error": f"not promoted on {target}: {lookup(function).failures}"}
            continue
        args = inputs(kernel, sizes[kernel])
        answer = function(*args)  # also the first call at this size (allocations, pool)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            function(*args)
            times.append(time.perf_counter() - start)
        np.save(out.with_suffix(f".{kernel}.npy"), answer)
        results[kernel] = {"median": statistics.median(times), "min": min(times)}
    out.write_text(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (see the docstring)")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per kernel")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    options = parser.parse_args()
    sizes = QUICK if options.quick else FULL
    if options.measure:
        measure(options.measure, sizes, options.repeat, Path(options.out))
        return
    with tempfile.TemporaryDirectory() as directory:
        _compare(options, sizes, Path(directory))


def _compare(options: argparse.Namespace, sizes: dict, workdir: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    found = {}
    for target in ("cpu", "parallel", "cuda"):
        out = workdir / f"{target}.json"
        command = [sys.executable, __file__, "--measure", target, "--out", str(out)]
        command += ["--repeat", str(options.repeat)] + (["--quick"] if options.quick else [])
        subprocess.run(command, check=True, env=env)
        found[target] = json.loads(out.read_text())
    print(f"sizes: {sizes}; {os.cpu_count()} CPUs; median of {options.repeat} calls (seconds)")
    print(
        "| kernel | cpu (njit) | parallel | cuda, incl. transfers | parallel / cpu | cuda / cpu | same within rtol 1e-9 |"
    )
    print("|---|---|---|---|---|---|---|")
    for kernel in KERNELS:
        row = [kernel]
        base = found["cpu"].get(kernel, {}).get("median")
        reference = np.load(workdir / f"cpu.{kernel}.npy") if base else None
        cells, ratios, agree = [], [], []
        for target in ("cpu", "parallel", "cuda"):
            entry = found[target]
            if "skipped" in entry:
                cells.append("skipped")
                ratios.append("-")
                continue
            value = entry[kernel].get("median")
            cells.append(f"{value:.4f}" if value else entry[kernel]["error"])
            if target != "cpu":
                ratios.append(f"{base / value:.2f}x" if value and base else "-")
                answer = np.load(workdir / f"{target}.{kernel}.npy")
                agree.append(f"{target}: {np.allclose(answer, reference, rtol=1e-9, atol=0)}")
        row += cells + ratios + ["; ".join(agree)]
        print("| " + " | ".join(row) + " |")
    if "skipped" in found["cuda"]:
        print(f"\ncuda skipped: {found['cuda']['skipped']}")


if __name__ == "__main__":
    main()

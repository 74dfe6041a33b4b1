# Hand-written Numba twin of examples/scripts/heat.py: the top-level loops moved into
# @numba.njit functions, as a person porting the script by hand would do.
"""Heat diffusion on a plate (hand-written Numba port of examples/scripts/heat.py)."""

import sys

import numba
import numpy as np

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100
STEPS = int(sys.argv[2]) if len(sys.argv) > 2 else 150
ALPHA = 0.24  # diffusion number: stable below 0.25


@numba.njit(cache=True)
def diffuse(plate, scratch, steps, alpha):
    n = plate.shape[0]
    peak = 0.0
    for _step in range(steps):
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                scratch[i, j] = plate[i, j] + alpha * (
                    plate[i + 1, j] + plate[i - 1, j] + plate[i, j + 1] + plate[i, j - 1]
                    - 4.0 * plate[i, j]
                )
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                plate[i, j] = scratch[i, j]
        peak = plate[n // 2, n // 2] if plate[n // 2, n // 2] > peak else peak
    return peak


@numba.njit(cache=True)
def hottest_cell(plate):
    n = plate.shape[0]
    hottest = 0.0
    wi, wj = 0, 0
    for i in range(n):
        for j in range(n):
            if plate[i, j] > hottest:
                hottest = plate[i, j]
                wi, wj = i, j
    return hottest, wi, wj


plate = np.zeros((N, N))
plate[N // 3 : N // 2, N // 3 : N // 2] = 100.0
scratch = plate.copy()
print(f"plate {N}x{N}, {STEPS} steps, initial heat {plate.sum():.6f}")
peak = diffuse(plate, scratch, STEPS, ALPHA)
hottest, wi, wj = hottest_cell(plate)
where = (wi, wj)
print(f"heat left {plate.sum():.6f}, hottest {hottest:.6f} at {where}, centre peak {peak:.6f}")
print("row checksums", [round(float(v), 9) for v in plate[::max(N // 6, 1)].sum(axis=1)])

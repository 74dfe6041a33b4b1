"""Heat diffusion on a plate, written the way a script is: everything at the top level.

A square plate with a hot spot and cold edges; explicit finite differences, step after step,
in plain loops over NumPy arrays, then a short summary. No functions: the hot loops are the
script's own top-level statements, reading and writing its globals.

Usage: python heat.py [N] [STEPS]    (defaults: 100 cells a side, 150 steps)
"""

import sys

import numpy as np

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100
STEPS = int(sys.argv[2]) if len(sys.argv) > 2 else 150
ALPHA = 0.24  # diffusion number: stable below 0.25

plate = np.zeros((N, N))
plate[N // 3 : N // 2, N // 3 : N // 2] = 100.0
scratch = plate.copy()
print(f"plate {N}x{N}, {STEPS} steps, initial heat {plate.sum():.6f}")

peak = 0.0
for _step in range(STEPS):
    for i in range(1, N - 1):
        for j in range(1, N - 1):
            scratch[i, j] = plate[i, j] + ALPHA * (
                plate[i + 1, j]
                + plate[i - 1, j]
                + plate[i, j + 1]
                + plate[i, j - 1]
                - 4.0 * plate[i, j]
            )
    for i in range(1, N - 1):
        for j in range(1, N - 1):
            plate[i, j] = scratch[i, j]
    peak = plate[N // 2, N // 2] if plate[N // 2, N // 2] > peak else peak

hottest = 0.0
where = (0, 0)
for i in range(N):
    for j in range(N):
        if plate[i, j] > hottest:
            hottest = plate[i, j]
            where = (i, j)

print(f"heat left {plate.sum():.6f}, hottest {hottest:.6f} at {where}, centre peak {peak:.6f}")
print("row checksums", [round(float(v), 9) for v in plate[:: max(N // 6, 1)].sum(axis=1)])

# Hand-written Numba port of pyperformance 1.14.0's bm_spectral_norm/run_benchmark.py: the
# same N, command line and pyperf calls; the vectors are NumPy arrays and eval_A(),
# part_A_times_u() and part_At_times_u() are @numba.njit kernels doing the same
# floating-point operations in the same order. eval_AtA_times_u() keeps the original's
# list-in, list-out interface.
"""
MathWorld: "Hundred-Dollar, Hundred-Digit Challenge Problems", Challenge #3.
http://mathworld.wolfram.com/Hundred-DollarHundred-DigitChallengeProblems.html

The Computer Language Benchmarks Game
http://benchmarksgame.alioth.debian.org/u64q/spectralnorm-description.html#spectralnorm

Contributed by Sebastien Loisel
Fixed by Isaac Gouy
Sped up by Josh Goldfoot
Dirtily sped up by Simon Descarpentries
Concurrency by Jason Stitt
(hand-written @njit port)
"""

import numba
import numpy as np
import pyperf


DEFAULT_N = 130


@numba.njit
def eval_A(i, j):
    return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)


@numba.njit
def part_A_times_u(u):
    out = np.empty(u.shape[0])
    for i in range(u.shape[0]):
        partial_sum = 0.0
        for j in range(u.shape[0]):
            partial_sum += eval_A(i, j) * u[j]
        out[i] = partial_sum
    return out


@numba.njit
def part_At_times_u(u):
    out = np.empty(u.shape[0])
    for i in range(u.shape[0]):
        partial_sum = 0.0
        for j in range(u.shape[0]):
            partial_sum += eval_A(j, i) * u[j]
        out[i] = partial_sum
    return out


@numba.njit
def eval_AtA_times_u_array(u):
    return part_At_times_u(part_A_times_u(u))


def eval_AtA_times_u(u):
    return eval_AtA_times_u_array(np.asarray(u, dtype=np.float64)).tolist()


def bench_spectral_norm(loops):
    range_it = range(loops)
    t0 = pyperf.perf_counter()

    for _ in range_it:
        u = np.ones(DEFAULT_N)

        for dummy in range(10):
            v = eval_AtA_times_u_array(u)
            u = eval_AtA_times_u_array(v)

        vBv = vv = 0

        for ue, ve in zip(u, v):
            vBv += ue * ve
            vv += ve * ve

    return pyperf.perf_counter() - t0


if __name__ == "__main__":
    runner = pyperf.Runner()
    runner.metadata['description'] = (
        'MathWorld: "Hundred-Dollar, Hundred-Digit Challenge Problems", '
        'Challenge #3.')
    runner.bench_time_func('spectral_norm', bench_spectral_norm)

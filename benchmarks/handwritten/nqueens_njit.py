# Hand-written Numba port of pyperformance 1.14.0's bm_nqueens/run_benchmark.py: the same
# command line and pyperf call. The permutation generator and the set-based test run in one
# @numba.njit kernel (Numba has no generator expressions in nopython mode, so the two
# generators become a loop that collects the solutions); n_queens() returns the same
# solutions, as tuples, in the same order.
"""Simple, brute-force N-Queens solver (hand-written @njit port)."""

import numba
import numpy as np
import pyperf

__author__ = "collinwinter@google.com (Collin Winter)"


@numba.njit
def is_solution(vec, queen_count):
    plus = set()
    minus = set()
    for i in range(queen_count):
        plus.add(vec[i] + i)
        minus.add(vec[i] - i)
    return queen_count == len(plus) == len(minus)


@numba.njit
def solutions(queen_count):
    # The permutations of range(queen_count) in the order of the original's
    # permutations() (itertools' algorithm), each tested as it is produced.
    n = r = queen_count
    indices = np.arange(n)
    cycles = np.arange(n - r + 1, n + 1)[::-1].copy()
    found = []
    if is_solution(indices, queen_count):
        found.append(indices.copy())
    while n:
        for i in range(r - 1, -1, -1):
            cycles[i] -= 1
            if cycles[i] == 0:
                first = indices[i]
                indices[i:n - 1] = indices[i + 1:n].copy()
                indices[n - 1] = first
                cycles[i] = n - i
            else:
                j = cycles[i]
                indices[i], indices[n - j] = indices[n - j], indices[i]
                if is_solution(indices, queen_count):
                    found.append(indices.copy())
                break
        else:
            return found
    return found


def n_queens(queen_count):
    """The solutions of the N-Queens problem, as tuples of column positions."""
    return [tuple(vec.tolist()) for vec in solutions(queen_count)]


def bench_n_queens(queen_count):
    list(n_queens(queen_count))


if __name__ == "__main__":
    runner = pyperf.Runner()
    runner.metadata['description'] = "Simple, brute-force N-Queens solver"

    queen_count = 8
    runner.bench_func('nqueens', bench_n_queens, queen_count)

# Hand-written Numba port of pyperformance 1.14.0's bm_float/run_benchmark.py: the same
# POINTS, command line and pyperf call. The points live in three NumPy arrays and one
# @numba.njit kernel creates, normalizes and maximizes them with the same floating-point
# operations in the same order; benchmark() returns a Point as the original does.
"""
Artificial, floating point-heavy benchmark originally used by Factor (hand-written @njit port).
"""
import numba
import numpy as np
import pyperf

from math import sin, cos, sqrt


POINTS = 100000


class Point(object):
    __slots__ = ('x', 'y', 'z')

    def __init__(self, i):
        self.x = x = sin(i)
        self.y = cos(i) * 3
        self.z = (x * x) / 2

    def __repr__(self):
        return "<Point: x=%s, y=%s, z=%s>" % (self.x, self.y, self.z)


@numba.njit
def benchmark_kernel(n):
    xs = np.empty(n)
    ys = np.empty(n)
    zs = np.empty(n)
    for i in range(n):
        xs[i] = x = sin(i)
        ys[i] = cos(i) * 3
        zs[i] = (x * x) / 2
    for i in range(n):
        x = xs[i]
        y = ys[i]
        z = zs[i]
        norm = sqrt(x * x + y * y + z * z)
        xs[i] /= norm
        ys[i] /= norm
        zs[i] /= norm
    x, y, z = xs[0], ys[0], zs[0]
    for i in range(1, n):
        x = x if x > xs[i] else xs[i]
        y = y if y > ys[i] else ys[i]
        z = z if z > zs[i] else zs[i]
    return x, y, z


def benchmark(n):
    point = Point(0)
    point.x, point.y, point.z = benchmark_kernel(n)
    return point


if __name__ == "__main__":
    runner = pyperf.Runner()
    runner.metadata['description'] = "Float benchmark"

    points = POINTS
    runner.bench_func('float', benchmark, points)

# Hand-written Numba port of pyperformance 1.14.0's bm_nbody/run_benchmark.py: the same
# bodies, constants, command line and pyperf calls; the bodies live in NumPy arrays and
# advance(), report_energy() and offset_momentum() are @numba.njit kernels doing the same
# floating-point operations in the same order.
"""
N-body benchmark from the Computer Language Benchmarks Game (hand-written @njit port).

Pulled from:
http://benchmarksgame.alioth.debian.org/u64q/program.php?test=nbody&lang=python3&id=1

Contributed by Kevin Carson.
Modified by Tupteq, Fredrik Johansson, and Daniel Nanz.
"""

import numba
import numpy as np
import pyperf

DEFAULT_ITERATIONS = 20000
DEFAULT_REFERENCE = 'sun'

PI = 3.14159265358979323
SOLAR_MASS = 4 * PI * PI
DAYS_PER_YEAR = 365.24

BODIES = {
    'sun': ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], SOLAR_MASS),

    'jupiter': ([4.84143144246472090e+00,
                 -1.16032004402742839e+00,
                 -1.03622044471123109e-01],
                [1.66007664274403694e-03 * DAYS_PER_YEAR,
                 7.69901118419740425e-03 * DAYS_PER_YEAR,
                 -6.90460016972063023e-05 * DAYS_PER_YEAR],
                9.54791938424326609e-04 * SOLAR_MASS),

    'saturn': ([8.34336671824457987e+00,
                4.12479856412430479e+00,
                -4.03523417114321381e-01],
               [-2.76742510726862411e-03 * DAYS_PER_YEAR,
                4.99852801234917238e-03 * DAYS_PER_YEAR,
                2.30417297573763929e-05 * DAYS_PER_YEAR],
               2.85885980666130812e-04 * SOLAR_MASS),

    'uranus': ([1.28943695621391310e+01,
                -1.51111514016986312e+01,
                -2.23307578892655734e-01],
               [2.96460137564761618e-03 * DAYS_PER_YEAR,
                2.37847173959480950e-03 * DAYS_PER_YEAR,
                -2.96589568540237556e-05 * DAYS_PER_YEAR],
               4.36624404335156298e-05 * SOLAR_MASS),

    'neptune': ([1.53796971148509165e+01,
                 -2.59193146099879641e+01,
                 1.79258772950371181e-01],
                [2.68067772490389322e-03 * DAYS_PER_YEAR,
                 1.62824170038242295e-03 * DAYS_PER_YEAR,
                 -9.51592254519715870e-05 * DAYS_PER_YEAR],
                5.15138902046611451e-05 * SOLAR_MASS)}

NAMES = list(BODIES)
POSITIONS = np.array([BODIES[name][0] for name in NAMES])
VELOCITIES = np.array([BODIES[name][1] for name in NAMES])
MASSES = np.array([BODIES[name][2] for name in NAMES])


@numba.njit
def advance_arrays(dt, n, r, v, m):
    # The pairs (a, b), a < b, in the order of the original's combinations(SYSTEM).
    count = r.shape[0]
    for i in range(n):
        for a in range(count - 1):
            for b in range(a + 1, count):
                dx = r[a, 0] - r[b, 0]
                dy = r[a, 1] - r[b, 1]
                dz = r[a, 2] - r[b, 2]
                mag = dt * ((dx * dx + dy * dy + dz * dz) ** (-1.5))
                b1m = m[a] * mag
                b2m = m[b] * mag
                v[a, 0] -= dx * b2m
                v[a, 1] -= dy * b2m
                v[a, 2] -= dz * b2m
                v[b, 0] += dx * b1m
                v[b, 1] += dy * b1m
                v[b, 2] += dz * b1m
        for a in range(count):
            r[a, 0] += dt * v[a, 0]
            r[a, 1] += dt * v[a, 1]
            r[a, 2] += dt * v[a, 2]


@numba.njit
def energy_arrays(r, v, m, e):
    count = r.shape[0]
    for a in range(count - 1):
        for b in range(a + 1, count):
            dx = r[a, 0] - r[b, 0]
            dy = r[a, 1] - r[b, 1]
            dz = r[a, 2] - r[b, 2]
            e -= (m[a] * m[b]) / ((dx * dx + dy * dy + dz * dz) ** 0.5)
    for a in range(count):
        vx, vy, vz = v[a, 0], v[a, 1], v[a, 2]
        e += m[a] * (vx * vx + vy * vy + vz * vz) / 2.
    return e


@numba.njit
def offset_momentum_arrays(ref, v, m, px, py, pz):
    for a in range(v.shape[0]):
        px -= v[a, 0] * m[a]
        py -= v[a, 1] * m[a]
        pz -= v[a, 2] * m[a]
    v[ref, 0] = px / m[ref]
    v[ref, 1] = py / m[ref]
    v[ref, 2] = pz / m[ref]


def advance(dt, n):
    advance_arrays(dt, n, POSITIONS, VELOCITIES, MASSES)


def report_energy(e=0.0):
    return energy_arrays(POSITIONS, VELOCITIES, MASSES, e)


def offset_momentum(reference, px=0.0, py=0.0, pz=0.0):
    offset_momentum_arrays(NAMES.index(reference), VELOCITIES, MASSES, px, py, pz)


def bench_nbody(loops, reference, iterations):
    # Set up global state
    offset_momentum(reference)

    range_it = range(loops)
    t0 = pyperf.perf_counter()

    for _ in range_it:
        report_energy()
        advance(0.01, iterations)
        report_energy()

    return pyperf.perf_counter() - t0


if __name__ == '__main__':
    runner = pyperf.Runner()
    runner.metadata['description'] = "n-body benchmark"
    runner.argparser.add_argument("--iterations",
                                  type=int, default=DEFAULT_ITERATIONS,
                                  help="Number of nbody advance() iterations "
                                       "(default: %s)" % DEFAULT_ITERATIONS)
    runner.argparser.add_argument("--reference",
                                  type=str, default=DEFAULT_REFERENCE,
                                  help="nbody reference (default: %s)"
                                       % DEFAULT_REFERENCE)

    args = runner.parse_args()
    runner.bench_time_func('nbody', bench_nbody,
                           args.reference, args.iterations)

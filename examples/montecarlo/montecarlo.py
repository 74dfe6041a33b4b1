"""Monte-Carlo and physics simulations with explicit loops over numpy arrays.

* 2-D Ising model, Metropolis single-spin-flip sweeps at several temperatures.
* Monte-Carlo pricing of European, Asian and up-and-out barrier calls under
  geometric Brownian motion.
* A small gravitational n-body system integrated with leapfrog.

All random numbers are drawn with numpy in the driver and passed into the
kernels as arrays; the kernels themselves are deterministic.

Usage: python montecarlo.py [--L L] [--sweeps S] [--batches B] [--paths P]
                            [--steps T] [--bodies N] [--nsteps K] [--seed SEED]
"""

import math
import sys
import time

import numpy as np

# ---------------------------------------------------------------------------
# Ising model kernels
# ---------------------------------------------------------------------------


def _neighbour_sum(spins, i, j):
    L = spins.shape[0]
    up = i - 1 if i > 0 else L - 1
    down = i + 1 if i < L - 1 else 0
    left = j - 1 if j > 0 else L - 1
    right = j + 1 if j < L - 1 else 0
    return spins[up, j] + spins[down, j] + spins[i, left] + spins[i, right]


def ising_sweep(spins, rows, cols, uniforms, accept_prob):
    """One Metropolis sweep over pre-drawn sites (in place).

    ``accept_prob[m]`` is the acceptance probability for an energy change
    dE = 4 * m (in units of J); m is 1 or 2 for uphill moves.
    Returns the number of accepted flips.
    """
    accepted = 0
    for t in range(rows.shape[0]):
        i = rows[t]
        j = cols[t]
        s = spins[i, j]
        delta = 2 * s * _neighbour_sum(spins, i, j)
        if delta <= 0 or uniforms[t] < accept_prob[delta // 4]:
            spins[i, j] = -s
            accepted += 1
    return accepted


def ising_observables(spins):
    """Energy per site and absolute magnetisation per site."""
    L = spins.shape[0]
    energy = 0
    mag = 0
    for i in range(L):
        for j in range(L):
            s = spins[i, j]
            right = spins[i, j + 1 if j < L - 1 else 0]
            down = spins[i + 1 if i < L - 1 else 0, j]
            energy -= s * (right + down)
            mag += s
    n = L * L
    return energy / n, abs(mag) / n


# ---------------------------------------------------------------------------
# Option pricing kernel
# ---------------------------------------------------------------------------


def price_paths(s0, rate, sigma, dt, strike, barrier, normals):
    """Simulate GBM paths from pre-drawn normals (paths x steps).

    Returns discounted payoff sums and sums of squares for
    (european, asian, up-and-out barrier) calls.
    """
    n_paths = normals.shape[0]
    n_steps = normals.shape[1]
    drift = (rate - 0.5 * sigma * sigma) * dt
    vol = sigma * math.sqrt(dt)
    disc = math.exp(-rate * dt * n_steps)
    sums = np.zeros(3)
    sq = np.zeros(3)
    for p in range(n_paths):
        s = s0
        running = 0.0
        knocked = False
        for t in range(n_steps):
            s = s * math.exp(drift + vol * normals[p, t])
            running += s
            if s >= barrier:
                knocked = True
        euro = disc * max(s - strike, 0.0)
        asian = disc * max(running / n_steps - strike, 0.0)
        barr = 0.0 if knocked else euro
        sums[0] += euro
        sums[1] += asian
        sums[2] += barr
        sq[0] += euro * euro
        sq[1] += asian * asian
        sq[2] += barr * barr
    return sums, sq


# ---------------------------------------------------------------------------
# N-body kernels
# ---------------------------------------------------------------------------


def nbody_accelerations(pos, mass, g, eps):
    n = pos.shape[0]
    acc = np.zeros((n, 3))
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            dx = pos[j, 0] - pos[i, 0]
            dy = pos[j, 1] - pos[i, 1]
            dz = pos[j, 2] - pos[i, 2]
            r2 = dx * dx + dy * dy + dz * dz + eps * eps
            inv = g * mass[j] / (r2 * math.sqrt(r2))
            acc[i, 0] += dx * inv
            acc[i, 1] += dy * inv
            acc[i, 2] += dz * inv
    return acc


def leapfrog_step(pos, vel, acc, mass, dt, g, eps):
    """Kick-drift-kick leapfrog; updates pos and vel in place, returns new acc."""
    n = pos.shape[0]
    for i in range(n):
        for k in range(3):
            vel[i, k] += 0.5 * dt * acc[i, k]
            pos[i, k] += dt * vel[i, k]
    new_acc = nbody_accelerations(pos, mass, g, eps)
    for i in range(n):
        for k in range(3):
            vel[i, k] += 0.5 * dt * new_acc[i, k]
    return new_acc


def nbody_energy(pos, vel, mass, g, eps):
    n = pos.shape[0]
    kinetic = 0.0
    for i in range(n):
        v2 = vel[i, 0] * vel[i, 0] + vel[i, 1] * vel[i, 1] + vel[i, 2] * vel[i, 2]
        kinetic += 0.5 * mass[i] * v2
    potential = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            dx = pos[j, 0] - pos[i, 0]
            dy = pos[j, 1] - pos[i, 1]
            dz = pos[j, 2] - pos[i, 2]
            r = math.sqrt(dx * dx + dy * dy + dz * dz + eps * eps)
            potential -= g * mass[i] * mass[j] / r
    return kinetic, potential


# ---------------------------------------------------------------------------
# Drivers
# ---------------------------------------------------------------------------


def run_ising(rng, L, sweeps, temperatures):
    results = []
    n = L * L
    for temp in temperatures:
        beta = 1.0 / temp
        accept_prob = np.array([1.0, math.exp(-4.0 * beta), math.exp(-8.0 * beta)])
        spins = np.ones((L, L), dtype=np.int64)  # cold start
        accepted_total = 0
        e_sum = 0.0
        m_sum = 0.0
        measured = 0
        for sweep in range(sweeps):
            rows = rng.integers(0, L, size=n)
            cols = rng.integers(0, L, size=n)
            uniforms = rng.random(n)
            accepted_total += ising_sweep(spins, rows, cols, uniforms, accept_prob)
            if sweep >= sweeps // 4:
                e, m = ising_observables(spins)
                e_sum += e
                m_sum += m
                measured += 1
        results.append((temp, e_sum / measured, m_sum / measured, accepted_total / (sweeps * n)))
    return results


def run_options(rng, batches, paths, steps):
    s0, rate, sigma, maturity = 100.0, 0.03, 0.25, 1.0
    dt = maturity / steps
    strikes = [90.0, 100.0, 110.0]
    barrier = 140.0
    out = {}
    for strike in strikes:
        total = np.zeros(3)
        total_sq = np.zeros(3)
        for _ in range(batches):
            normals = rng.standard_normal((paths, steps))
            sums, sq = price_paths(s0, rate, sigma, dt, strike, barrier, normals)
            total += sums
            total_sq += sq
        n = batches * paths
        mean = total / n
        stderr = np.sqrt(np.maximum(total_sq / n - mean * mean, 0.0) / n)
        out[strike] = (mean, stderr)
    return out


def run_nbody(rng, bodies, steps):
    g, eps, dt = 1.0, 0.05, 0.002
    pos = rng.normal(0.0, 1.0, size=(bodies, 3))
    vel = rng.normal(0.0, 0.3, size=(bodies, 3))
    mass = rng.uniform(0.5, 1.5, size=bodies) / bodies
    acc = nbody_accelerations(pos, mass, g, eps)
    energies = []
    for step in range(steps):
        acc = leapfrog_step(pos, vel, acc, mass, dt, g, eps)
        if step % 3 == 0:
            kin, pot = nbody_energy(pos, vel, mass, g, eps)
            energies.append(kin + pot)
    return pos, vel, energies


_WORKLOAD_DATA = None


def workload():
    """One kernel-only batch (no printing) for steady-state benchmarking."""
    global _WORKLOAD_DATA
    if _WORKLOAD_DATA is None:
        rng = np.random.default_rng(4242)
        L = 48
        n = L * L
        draws = [
            (rng.integers(0, L, size=n), rng.integers(0, L, size=n), rng.random(n))
            for _ in range(120)
        ]
        spins = np.where(rng.random((L, L)) < 0.5, -1, 1).astype(np.int64)
        accept_prob = np.array([1.0, math.exp(-4.0 / 2.3), math.exp(-8.0 / 2.3)])
        normals = rng.standard_normal((1000, 32))
        pos = rng.normal(0.0, 1.0, size=(48, 3))
        vel = rng.normal(0.0, 0.3, size=(48, 3))
        mass = rng.uniform(0.5, 1.5, size=48) / 48
        _WORKLOAD_DATA = (spins, draws, accept_prob, normals, pos, vel, mass)
    spins0, draws, accept_prob, normals, pos0, vel0, mass = _WORKLOAD_DATA
    spins = spins0.copy()
    for rows, cols, uniforms in draws:
        ising_sweep(spins, rows, cols, uniforms, accept_prob)
        ising_observables(spins)
    for strike in (90.0, 100.0, 110.0):
        price_paths(100.0, 0.03, 0.25, 1.0 / 32, strike, 140.0, normals)
    pos = pos0.copy()
    vel = vel0.copy()
    acc = nbody_accelerations(pos, mass, 1.0, 0.05)
    for _ in range(60):
        acc = leapfrog_step(pos, vel, acc, mass, 0.002, 1.0, 0.05)
        nbody_energy(pos, vel, mass, 1.0, 0.05)


def parse_args(argv):
    opts = {
        "L": 48,
        "sweeps": 300,
        "batches": 64,
        "paths": 1000,
        "steps": 32,
        "bodies": 64,
        "nsteps": 400,
        "seed": 777,
    }
    i = 0
    while i < len(argv):
        key = argv[i].lstrip("-")
        if key in opts and i + 1 < len(argv):
            opts[key] = int(argv[i + 1])
            i += 2
        else:
            raise SystemExit(
                "usage: montecarlo.py [--L L] [--sweeps S] [--batches B] [--paths P]"
                " [--steps T] [--bodies N] [--nsteps K] [--seed SEED]"
            )
    return opts


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    t0 = time.perf_counter()
    rng = np.random.default_rng(opts["seed"])

    print(f"Ising model L={opts['L']} sweeps={opts['sweeps']}")
    for temp, e, m, acc_rate in run_ising(
        rng, opts["L"], opts["sweeps"], [1.5, 2.0, 2.27, 2.6, 3.5]
    ):
        print(f"  T={temp:.2f}  <e>={e:.10f}  <|m|>={m:.10f}  accept={acc_rate:.8f}")
    t1 = time.perf_counter()

    print(f"Options: {opts['batches']} batches x {opts['paths']} paths x {opts['steps']} steps")
    for strike, (mean, stderr) in run_options(
        rng, opts["batches"], opts["paths"], opts["steps"]
    ).items():
        print(
            f"  K={strike:.0f}  european={float(mean[0]):.8f}+-{float(stderr[0]):.8f}"
            f"  asian={float(mean[1]):.8f}+-{float(stderr[1]):.8f}"
            f"  barrier={float(mean[2]):.8f}+-{float(stderr[2]):.8f}"
        )
    t2 = time.perf_counter()

    pos, vel, energies = run_nbody(rng, opts["bodies"], opts["nsteps"])
    drift = (energies[-1] - energies[0]) / abs(energies[0])
    print(f"N-body: bodies={opts['bodies']} steps={opts['nsteps']}")
    print(f"  E0={energies[0]:.12f}  E_end={energies[-1]:.12f}  rel.drift={drift:.6e}")
    print(f"  pos checksum={float(np.sum(pos))!r}  vel checksum={float(np.sum(vel))!r}")
    t3 = time.perf_counter()
    print(
        f"elapsed ising={t1 - t0:.2f}s options={t2 - t1:.2f}s nbody={t3 - t2:.2f}s "
        f"total={t3 - t0:.2f}s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()

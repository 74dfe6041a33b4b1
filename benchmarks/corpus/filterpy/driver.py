"""filterpy: tracking a moving target with Kalman, unscented Kalman and particle filters.

A user of filterpy builds a filter, then calls ``predict``/``update`` once per measurement.
Here a target moves in the plane at nearly constant velocity (seeded noise) and is tracked:

* by a linear ``KalmanFilter`` on noisy positions, step by step, then smoothed with its
  ``rts_smoother``;
* by an ``UnscentedKalmanFilter`` (``MerweScaledSigmaPoints``) on range and bearing from a
  radar at the origin;
* by a bootstrap particle filter whose resampling is each of ``filterpy.monte_carlo``'s
  ``systematic``, ``stratified``, ``residual`` and ``multinomial_resample`` in turn.

The work is small NumPy operations in methods over ``self`` (the Kalman filters) and
pure-Python loops over weight arrays (the resampling functions).
"""

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
from corpus_common import Digest, pick
from filterpy.common import Q_discrete_white_noise
from filterpy.kalman import (
    KalmanFilter,
    MerweScaledSigmaPoints,
    UnscentedKalmanFilter,
)
from filterpy.monte_carlo import (
    multinomial_resample,
    residual_resample,
    stratified_resample,
    systematic_resample,
)

DT = 0.1


def trajectory(rng: np.random.RandomState, steps: int) -> np.ndarray:
    """True states ``[x, vx, y, vy]`` of a target with slowly wandering velocity."""
    states = np.zeros((steps, 4))
    state = np.array([0.0, 1.0, 5.0, 0.5])
    for k in range(steps):
        state = state + DT * np.array([state[1], 0.0, state[3], 0.0])
        state[1] += rng.normal(0.0, 0.05)
        state[3] += rng.normal(0.0, 0.05)
        states[k] = state
    return states


def constant_velocity(kf: KalmanFilter) -> None:
    """The constant-velocity model shared by the linear and the unscented filter."""
    kf.F = np.array([[1, DT, 0, 0], [0, 1, 0, 0], [0, 0, 1, DT], [0, 0, 0, 1]], dtype=float)
    kf.Q = Q_discrete_white_noise(dim=2, dt=DT, var=0.01, block_size=2)
    kf.P *= 10.0


def kalman(states: np.ndarray, rng: np.random.RandomState, digest: Digest) -> None:
    """Linear Kalman filter on noisy positions, step by step, then smoothed."""
    kf = KalmanFilter(dim_x=4, dim_z=2)
    constant_velocity(kf)
    kf.H = np.array([[1.0, 0, 0, 0], [0, 0, 1.0, 0]])
    kf.R *= 0.25
    kf.x = np.array([0.0, 0.0, 5.0, 0.0])
    zs = states[:, [0, 2]] + rng.normal(0.0, 0.5, (len(states), 2))
    means, covariances = [], []
    for z in zs:
        kf.predict()
        kf.update(z)
        means.append(kf.x.copy())
        covariances.append(kf.P.copy())
    means, covariances = np.array(means), np.array(covariances)
    digest.add("kf estimates", means)
    digest.add("kf covariances", covariances)
    digest.add("kf log-likelihood", kf.log_likelihood)
    smoothed, smoothed_p, gains, _ = kf.rts_smoother(means, covariances)
    digest.add("rts smoothed", smoothed)
    digest.add("rts covariances", smoothed_p)
    digest.add("rts gains", gains)


def radar(x: np.ndarray) -> np.ndarray:
    """Range and bearing of state ``x`` seen from the origin."""
    return np.array([math.hypot(x[0], x[2]), math.atan2(x[2], x[0])])


def move(x: np.ndarray, dt: float) -> np.ndarray:
    """Constant-velocity motion of a state over ``dt``."""
    return np.array([x[0] + dt * x[1], x[1], x[2] + dt * x[3], x[3]])


def unscented(states: np.ndarray, rng: np.random.RandomState, digest: Digest) -> None:
    """Unscented Kalman filter on range-bearing measurements."""
    points = MerweScaledSigmaPoints(4, alpha=0.1, beta=2.0, kappa=-1.0)
    ukf = UnscentedKalmanFilter(dim_x=4, dim_z=2, dt=DT, hx=radar, fx=move, points=points)
    ukf.x = np.array([0.0, 1.0, 5.0, 0.5])
    ukf.P *= 0.5
    ukf.R = np.diag([0.3**2, 0.01**2])
    ukf.Q = Q_discrete_white_noise(dim=2, dt=DT, var=0.01, block_size=2)
    estimates = []
    for state in states:
        ukf.predict()
        ukf.update(radar(state) + rng.normal(0.0, [0.3, 0.01]))
        estimates.append(ukf.x.copy())
    digest.add("ukf estimates", np.array(estimates))
    digest.add("ukf final P", ukf.P)


def particles(states: np.ndarray, resample, count: int) -> tuple[np.ndarray, int]:
    """Bootstrap particle filter on positions; the estimates and the number of resamplings."""
    rng = np.random.RandomState(7)
    cloud = np.column_stack([rng.normal(0, 1, count), rng.normal(1, 0.5, count)])
    cloud = np.column_stack([cloud, rng.normal(5, 1, count), rng.normal(0.5, 0.5, count)])
    weights = np.full(count, 1.0 / count)
    estimates, resamplings = [], 0
    for state in states:
        cloud[:, 0] += DT * cloud[:, 1]
        cloud[:, 2] += DT * cloud[:, 3]
        cloud[:, [1, 3]] += rng.normal(0.0, 0.05, (count, 2))
        z = state[[0, 2]] + rng.normal(0.0, 0.5, 2)
        distance2 = (cloud[:, 0] - z[0]) ** 2 + (cloud[:, 2] - z[1]) ** 2
        weights = weights * np.exp(-distance2 / (2 * 0.25)) + 1e-300
        weights /= weights.sum()
        estimates.append(weights @ cloud)
        if 1.0 / np.sum(weights**2) < count / 2:  # effective sample size
            indexes = resample(weights)
            cloud = cloud[indexes]
            weights = np.full(count, 1.0 / count)
            resamplings += 1
    return np.array(estimates), resamplings


def main() -> None:
    rng = np.random.RandomState(42)
    digest = Digest()
    states = trajectory(rng, pick(2500, 200))
    digest.add("truth", states)
    kalman(states, rng, digest)
    unscented(states[: pick(1000, 80)], rng, digest)
    short = states[: pick(120, 15)]
    for resample in (
        systematic_resample,
        stratified_resample,
        residual_resample,
        multinomial_resample,
    ):
        # The resampling functions draw from NumPy's global generator.
        np.random.seed(11)
        estimates, count = particles(short, resample, pick(4000, 500))
        digest.add(f"pf {resample.__name__}", estimates)
        digest.add(f"pf {resample.__name__} resamplings", count)
    digest.close()


if __name__ == "__main__":
    main()

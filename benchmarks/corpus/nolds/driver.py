"""nolds: nonlinear measures of chaotic, fractal and noisy time series.

A user of nolds characterises a signal by its sample entropy, Hurst exponent, detrended
fluctuation analysis, correlation dimension and Lyapunov exponents. Here: a logistic-map
series and a tent-map series (chaotic), a Lorenz-system coordinate (``lorenz_euler``),
white noise and its random walk (seeded) and the Brownian series shipped with nolds
(``brown72``), each measured with every one of those functions. (nolds' own ``fgn`` generator
was left out: it spends seconds in one ``numpy.linalg.eigh`` call, not in nolds.)

Every fit is ``fit="poly"``: the default, RANSAC, needs scikit-learn, and without it nolds
warns and falls back to the same polynomial fit. The work is NumPy calls in Python loops over
embedding dimensions, window sizes and distances, in functions with lambdas, dicts and
``warnings`` around the loops.
"""

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
import nolds
from corpus_common import Digest, pick


def series(length: int) -> dict[str, np.ndarray]:
    """The signals to measure, each ``length`` samples long."""
    noise = np.random.RandomState(3).normal(0.0, 1.0, length)
    lorenz = nolds.datasets.lorenz_euler(length + 1000, 10, 28, 8 / 3.0, dt=0.012)
    return {
        "logistic": np.fromiter(nolds.logistic_map(0.1, length, r=3.9), dtype=float),
        "tent": np.fromiter(nolds.tent_map(0.23, length, mu=1.9), dtype=float),
        "lorenz": lorenz[1000:, 0],
        "noise": noise,
        "walk": np.cumsum(noise),
        "brown72": nolds.brown72[:length],
    }


def measure(name: str, data: np.ndarray, digest: Digest) -> None:
    """Every measure of one series, recorded with its debug data where nolds returns it."""
    digest.add(f"{name} sampen", nolds.sampen(data[:1200], emb_dim=2))
    digest.add(f"{name} sampen m4", nolds.sampen(data[:600], emb_dim=4))
    digest.add(f"{name} hurst_rs", nolds.hurst_rs(data, fit="poly", debug_data=True))
    digest.add(f"{name} dfa", nolds.dfa(data, fit_trend="poly", fit_exp="poly", debug_data=True))
    digest.add(f"{name} corr_dim", nolds.corr_dim(data[:1000], emb_dim=4, fit="poly"))
    digest.add(
        f"{name} lyap_r", nolds.lyap_r(data[:1000], emb_dim=6, lag=2, min_tsep=10, fit="poly")
    )
    digest.add(f"{name} lyap_e", nolds.lyap_e(data[:600], emb_dim=7, matrix_dim=3))


def main() -> None:
    digest = Digest()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name, data in series(pick(2000, 500)).items():
            measure(name, data, digest)
    digest.add("warnings", sorted({str(warning.message) for warning in caught}))
    digest.close()


if __name__ == "__main__":
    main()

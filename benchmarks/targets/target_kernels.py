"""Elementwise kernels for benchmarks/targets.py, as plain Python (autoaccel compiles them)."""

from __future__ import annotations

import math

import numpy as np

SQRT_HALF = 0.7071067811865476


def black_scholes(spot, strike, years, rate, vol):
    """European call prices, one option per item (Black-Scholes, erf-based normal CDF)."""
    n = spot.shape[0]
    out = np.empty(n)
    for i in range(n):
        root = math.sqrt(years[i])
        d1 = (math.log(spot[i] / strike[i]) + (rate + 0.5 * vol * vol) * years[i]) / (vol * root)
        d2 = d1 - vol * root
        cdf1 = 0.5 * (1.0 + math.erf(d1 * SQRT_HALF))
        cdf2 = 0.5 * (1.0 + math.erf(d2 * SQRT_HALF))
        out[i] = spot[i] * cdf1 - strike[i] * math.exp(-rate * years[i]) * cdf2
    return out


def pairwise(points):
    """Euclidean distances between every pair of rows of ``points`` (n x d -> n x n)."""
    n = points.shape[0]
    out = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            total = 0.0
            for k in range(points.shape[1]):
                step = points[i, k] - points[j, k]
                total += step * step
            out[i, j] = math.sqrt(total)
    return out


def monte_carlo(shocks, spot, drift, vol, dt, strike):
    """Discounted-free call payoff per geometric-Brownian path (paths x steps shocks)."""
    paths = shocks.shape[0]
    out = np.empty(paths)
    for i in range(paths):
        price = spot
        for j in range(shocks.shape[1]):
            price *= math.exp((drift - 0.5 * vol * vol) * dt + vol * math.sqrt(dt) * shocks[i, j])
        out[i] = max(price - strike, 0.0)
    return out

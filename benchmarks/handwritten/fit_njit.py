# Hand-written Numba twin of examples/scripts/fit.py: identical except that fit() is
# decorated with @numba.njit.
"""Logistic regression by gradient descent (hand-written Numba port of examples/scripts/fit.py)."""

import math
import sys

import numba
import numpy as np


def make_data(samples, features, seed=7):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(samples, features))
    true_w = rng.normal(size=features)
    noise = rng.normal(scale=0.5, size=samples)
    y = (x @ true_w + noise > 0.0).astype(np.float64)
    return x, y


@numba.njit(cache=True)
def fit(x, y, epochs, rate):
    samples, features = x.shape
    w = np.zeros(features)
    b = 0.0
    grad = np.zeros(features)
    losses = np.zeros(epochs)
    for epoch in range(epochs):
        for k in range(features):
            grad[k] = 0.0
        grad_b = 0.0
        loss = 0.0
        for s in range(samples):
            z = b
            for k in range(features):
                z += w[k] * x[s, k]
            p = 1.0 / (1.0 + math.exp(-z))
            loss -= y[s] * math.log(p + 1e-12) + (1.0 - y[s]) * math.log(1.0 - p + 1e-12)
            diff = p - y[s]
            for k in range(features):
                grad[k] += diff * x[s, k]
            grad_b += diff
        for k in range(features):
            w[k] -= rate * grad[k] / samples
        b -= rate * grad_b / samples
        losses[epoch] = loss / samples
    return w, b, losses


def main():
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    features = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 700
    x, y = make_data(samples, features)
    print(f"{samples} samples, {features} features, {epochs} epochs")
    w, b, losses = fit(x, y, epochs, 0.5)
    for epoch in sorted({0, epochs // 10, epochs // 2, epochs - 1}):
        print(f"epoch {epoch:5d}  loss {losses[epoch]:.12f}")
    predicted = (x @ w + b > 0.0).astype(np.float64)
    print("weights", [round(float(v), 9) for v in w])
    print(f"bias {b:.12f}  accuracy {float((predicted == y).mean()):.4f}")


if __name__ == "__main__":
    main()

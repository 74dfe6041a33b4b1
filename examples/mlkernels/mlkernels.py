"""Classic ML kernels written as explicit Python loops over numpy arrays.

Runs k-means clustering on several synthetic Gaussian-blob datasets, then
scores a small randomly initialised two-layer network on each dataset
(dense layer, ReLU, softmax, cross-entropy / MSE losses) and reports
cluster statistics computed from a pairwise-distance matrix.

Usage: python mlkernels.py [--datasets D] [--points N] [--iters I]
                          [--subsets S] [--batch B] [--seed S]
"""

import math
import sys
import time

import numpy as np

# ---------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------


def pairwise_distances(a, b):
    """Euclidean distance matrix between the rows of ``a`` and ``b``."""
    n = a.shape[0]
    m = b.shape[0]
    d = a.shape[1]
    out = np.empty((n, m))
    for i in range(n):
        for j in range(m):
            s = 0.0
            for k in range(d):
                diff = a[i, k] - b[j, k]
                s += diff * diff
            out[i, j] = math.sqrt(s)
    return out


def _sq_dist_row(x, i, centers, c):
    s = 0.0
    for k in range(x.shape[1]):
        diff = x[i, k] - centers[c, k]
        s += diff * diff
    return s


def kmeans_assign(x, centers):
    """Assign every point to its nearest center; returns (labels, inertia)."""
    n = x.shape[0]
    k = centers.shape[0]
    labels = np.empty(n, dtype=np.int64)
    inertia = 0.0
    for i in range(n):
        best = 0
        best_d = _sq_dist_row(x, i, centers, 0)
        for c in range(1, k):
            dist = _sq_dist_row(x, i, centers, c)
            if dist < best_d:
                best_d = dist
                best = c
        labels[i] = best
        inertia += best_d
    return labels, inertia


def kmeans_update(x, labels, old_centers):
    """Recompute centers as cluster means (empty clusters keep their center)."""
    k = old_centers.shape[0]
    d = x.shape[1]
    sums = np.zeros((k, d))
    counts = np.zeros(k, dtype=np.int64)
    for i in range(x.shape[0]):
        c = labels[i]
        counts[c] += 1
        for j in range(d):
            sums[c, j] += x[i, j]
    centers = np.empty((k, d))
    shift = 0.0
    for c in range(k):
        for j in range(d):
            if counts[c] > 0:
                centers[c, j] = sums[c, j] / counts[c]
            else:
                centers[c, j] = old_centers[c, j]
            diff = centers[c, j] - old_centers[c, j]
            shift += diff * diff
    return centers, counts, math.sqrt(shift)


def dense_forward(x, w, b):
    """x @ w + b with explicit loops."""
    n = x.shape[0]
    d_in = x.shape[1]
    d_out = w.shape[1]
    out = np.empty((n, d_out))
    for i in range(n):
        for j in range(d_out):
            s = b[j]
            for k in range(d_in):
                s += x[i, k] * w[k, j]
            out[i, j] = s
    return out


def relu(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            v = x[i, j]
            out[i, j] = v if v > 0.0 else 0.0
    return out


def _sigmoid_scalar(v):
    if v >= 0.0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def sigmoid(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = _sigmoid_scalar(x[i, j])
    return out


def softmax_rows(x):
    """Numerically stable row-wise softmax."""
    n = x.shape[0]
    m = x.shape[1]
    out = np.empty((n, m))
    for i in range(n):
        mx = x[i, 0]
        for j in range(1, m):
            if x[i, j] > mx:
                mx = x[i, j]
        total = 0.0
        for j in range(m):
            e = math.exp(x[i, j] - mx)
            out[i, j] = e
            total += e
        for j in range(m):
            out[i, j] = out[i, j] / total
    return out


def mse(pred, target):
    """Mean squared error over all entries of two 2-D arrays."""
    s = 0.0
    for i in range(pred.shape[0]):
        for j in range(pred.shape[1]):
            d = pred[i, j] - target[i, j]
            s += d * d
    return s / (pred.shape[0] * pred.shape[1])


def cross_entropy(probs, labels, eps):
    """Mean negative log-likelihood of integer ``labels`` under ``probs``."""
    s = 0.0
    for i in range(probs.shape[0]):
        p = probs[i, labels[i]]
        if p < eps:
            p = eps
        s -= math.log(p)
    return s / probs.shape[0]


def accuracy(probs, labels):
    correct = 0
    for i in range(probs.shape[0]):
        best = 0
        for j in range(1, probs.shape[1]):
            if probs[i, j] > probs[i, best]:
                best = j
        if best == labels[i]:
            correct += 1
    return correct / probs.shape[0]


def one_hot(labels, k):
    out = np.zeros((labels.shape[0], k))
    for i in range(labels.shape[0]):
        out[i, labels[i]] = 1.0
    return out


def cluster_spread(dist, labels, k):
    """Mean intra-cluster and inter-cluster distance from a distance matrix."""
    intra = 0.0
    inter = 0.0
    n_intra = 0
    n_inter = 0
    n = dist.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            if labels[i] == labels[j]:
                intra += dist[i, j]
                n_intra += 1
            else:
                inter += dist[i, j]
                n_inter += 1
    if n_intra > 0:
        intra /= n_intra
    if n_inter > 0:
        inter /= n_inter
    return intra, inter


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


def make_blobs(rng, n, k, d):
    centers = rng.uniform(-10.0, 10.0, size=(k, d))
    truth = rng.integers(0, k, size=n)
    x = centers[truth] + rng.normal(0.0, 1.5, size=(n, d))
    return x, truth.astype(np.int64)


def kmeans(x, k, iters, rng):
    init = rng.choice(x.shape[0], size=k, replace=False)
    centers = x[np.sort(init)].copy()
    labels, inertia = kmeans_assign(x, centers)
    n_iter = 0
    for _ in range(iters):
        centers, counts, _shift = kmeans_update(x, labels, centers)
        labels, inertia = kmeans_assign(x, centers)
        n_iter += 1
    return centers, labels, inertia, counts, n_iter


def score_network(x, labels, k, rng, hidden, batch):
    """Evaluate a random two-layer network on ``x`` in mini-batches."""
    d = x.shape[1]
    w1 = rng.normal(0.0, 1.0 / math.sqrt(d), size=(d, hidden))
    b1 = np.zeros(hidden)
    w2 = rng.normal(0.0, 1.0 / math.sqrt(hidden), size=(hidden, k))
    b2 = rng.normal(0.0, 0.1, size=k)
    totals = {"ce": 0.0, "mse": 0.0, "acc": 0.0, "ce_gated": 0.0, "mse_gated": 0.0}
    n_batches = 0
    for start in range(0, x.shape[0], batch):
        xb = x[start : start + batch]
        yb = labels[start : start + batch]
        pre = dense_forward(xb, w1, b1)
        h = relu(pre)
        gate = sigmoid(pre)
        probs = softmax_rows(dense_forward(h, w2, b2))
        gated = softmax_rows(dense_forward(gate, w2, b2))
        target = one_hot(yb, k)
        totals["ce"] += cross_entropy(probs, yb, 1e-12)
        totals["mse"] += mse(probs, target)
        totals["acc"] += accuracy(probs, yb)
        totals["ce_gated"] += cross_entropy(gated, yb, 1e-12)
        totals["mse_gated"] += mse(gated, target)
        n_batches += 1
    return {name: value / n_batches for name, value in totals.items()}


_WORKLOAD_DATA = None


def workload():
    """One kernel-only batch (no printing) for steady-state benchmarking."""
    global _WORKLOAD_DATA
    if _WORKLOAD_DATA is None:
        rng = np.random.default_rng(99)
        x, truth = make_blobs(rng, 3000, 5, 4)
        centers = x[:5].copy()
        w1 = rng.normal(0.0, 0.5, size=(4, 16))
        b1 = np.zeros(16)
        w2 = rng.normal(0.0, 0.25, size=(16, 5))
        b2 = np.zeros(5)
        _WORKLOAD_DATA = (x, truth, centers, w1, b1, w2, b2)
    x, truth, centers, w1, b1, w2, b2 = _WORKLOAD_DATA
    for _ in range(12):
        labels, _inertia = kmeans_assign(x, centers)
        centers, _counts, _shift = kmeans_update(x, labels, centers)
    h = relu(dense_forward(x, w1, b1))
    sigmoid(h)
    probs = softmax_rows(dense_forward(h, w2, b2))
    cross_entropy(probs, truth, 1e-12)
    mse(probs, one_hot(truth, 5))
    accuracy(probs, truth)
    sub = x[:400]
    dist = pairwise_distances(sub, sub)
    cluster_spread(dist, labels[:400], 5)


def parse_args(argv):
    opts = {"datasets": 14, "points": 2000, "iters": 15, "subsets": 5, "batch": 250, "seed": 2024}
    i = 0
    while i < len(argv):
        key = argv[i].lstrip("-")
        if key in opts and i + 1 < len(argv):
            opts[key] = int(argv[i + 1])
            i += 2
        else:
            raise SystemExit(
                "usage: mlkernels.py [--datasets D] [--points N] [--iters I]"
                " [--subsets S] [--batch B] [--seed S]"
            )
    return opts


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    t0 = time.perf_counter()
    rng = np.random.default_rng(opts["seed"])
    for ds in range(opts["datasets"]):
        k = 3 + ds % 4
        d = 2 + ds % 3
        x, truth = make_blobs(rng, opts["points"], k, d)
        centers, labels, inertia, counts, n_iter = kmeans(x, k, opts["iters"], rng)
        intra_sum = 0.0
        inter_sum = 0.0
        n_sub = opts["subsets"]
        for _ in range(n_sub):
            idx = np.sort(rng.choice(x.shape[0], size=200, replace=False))
            dist = pairwise_distances(x[idx], x[idx])
            intra, inter = cluster_spread(dist, labels[idx], k)
            intra_sum += intra
            inter_sum += inter
        cross = pairwise_distances(centers, centers)
        net = score_network(x, truth, k, rng, 16, opts["batch"])
        print(f"dataset {ds}: k={k} d={d} iters={n_iter} inertia={inertia:.8f}")
        print(f"  cluster sizes: {sorted(int(c) for c in counts)}")
        print(
            f"  intra={intra_sum / n_sub:.8f} inter={inter_sum / n_sub:.8f}"
            f" center-dist-sum={float(np.sum(cross)):.8f}"
        )
        print(
            f"  net: ce={net['ce']:.10f} mse={net['mse']:.10f} acc={net['acc']:.4f}"
            f" ce_gated={net['ce_gated']:.10f} mse_gated={net['mse_gated']:.10f}"
        )
    print(f"elapsed {time.perf_counter() - t0:.2f}s", file=sys.stderr)


if __name__ == "__main__":
    main()

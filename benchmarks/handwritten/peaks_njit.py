# Hand-written Numba twin of examples/scripts/peaks.py: the hot loop of analyse() moved
# into a @numba.njit kernel, as a person porting it by hand would do (Numba refuses the
# whole function: f-strings, try, a dict).
"""Peak detection in a sensor trace (hand-written Numba port of examples/scripts/peaks.py)."""

import sys
import warnings

import numba
import numpy as np


def trace(samples, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / 1000.0
    signal = np.sin(2 * np.pi * 0.7 * t) + 0.3 * rng.normal(size=samples)
    spikes = rng.integers(0, samples, size=samples // 2000)
    signal[spikes] += rng.uniform(4.0, 8.0, size=spikes.shape[0])
    return signal


@numba.njit(cache=True)
def zscore_peaks(values, lag, threshold, flags):
    n = values.shape[0]
    mean = 0.0
    m2 = 0.0
    count = 0
    peaks = 0
    strongest = 0.0
    for i in range(n):
        x = values[i]
        if count >= lag:
            std = (m2 / (count - 1)) ** 0.5
            if std > 0.0 and abs(x - mean) / std > threshold:
                flags[i] = 1
                peaks += 1
                if abs(x - mean) / std > strongest:
                    strongest = abs(x - mean) / std
                continue
        count += 1
        delta = x - mean
        mean += delta / count
        m2 += delta * (x - mean)
    return peaks, strongest, mean


def analyse(values, options):
    print(f"analysing {values.shape[0]} samples with {options}")
    try:
        lag = int(options.get("lag", 50))
        threshold = float(options.get("threshold", 3.5))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad options {options!r}") from exc
    if lag < 2:
        warnings.warn(f"lag {lag} is too short; using 2", stacklevel=2)
        lag = 2
    n = values.shape[0]
    flags = np.zeros(n, dtype=np.int64)
    peaks, strongest, mean = zscore_peaks(values, lag, threshold, flags)
    # As the original's: its values are NumPy scalars once an element of values reached them.
    mean = np.float64(mean) if n else mean
    strongest = np.float64(strongest) if peaks else strongest
    result = {"peaks": peaks, "strongest": strongest, "mean": mean, "first": -1}
    if peaks:
        result["first"] = int(np.argmax(flags))
    print(f"found {peaks} peaks")
    return result


def main():
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    traces = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    for seed in range(traces):
        result = analyse(trace(samples, seed), {"lag": 50, "threshold": 3.5})
        print(seed, {k: (round(v, 9) if isinstance(v, float) else v) for k, v in result.items()})


if __name__ == "__main__":
    main()

"""Multi-moving-average trading signals over a synthetic price series.

Plain-Python quant code in the style of a signal library: one entry point,
``moving_average(x, ma_type, period)``, computes an EMA, WMA, HMA, DEMA, LSMA or
KAMA selected by a string; the LSMA is vectorized NumPy, the others are loops.  The driver evaluates
several presets, each a list of (ma_type, period) lines, over many chunks of a
geometric random walk, and backtests a crossover of each preset's fastest and
slowest line.

Usage: python signals.py [--n N_PRICES] [--chunk CHUNK] [--seed SEED]
"""

import math
import sys
import time

import numpy as np

# ---------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------


def ema_line(x, period):
    """Exponential moving average with smoothing 2 / (period + 1)."""
    n = x.shape[0]
    out = np.empty(n)
    alpha = 2.0 / (period + 1.0)
    acc = x[0]
    for i in range(n):
        acc = alpha * x[i] + (1.0 - alpha) * acc
        out[i] = acc
    return out


def wma_line(x, period):
    """Linearly weighted moving average; NaN until ``period`` values are seen."""
    n = x.shape[0]
    out = np.empty(n)
    norm = period * (period + 1) / 2.0
    for i in range(n):
        if i < period - 1:
            out[i] = np.nan
            continue
        s = 0.0
        for k in range(period):
            s += (k + 1) * x[i - period + 1 + k]
        out[i] = s / norm
    return out


def moving_average(x, ma_type, period):
    """The moving average of ``x`` named by ``ma_type`` over ``period`` samples."""
    n = x.shape[0]
    out = np.empty(n)
    if ma_type == "EMA":
        out = ema_line(x, period)
    elif ma_type == "WMA":
        out = wma_line(x, period)
    elif ma_type == "HMA":
        half = wma_line(x, period // 2)
        full = wma_line(x, period)
        diff = np.empty(n)
        for i in range(n):
            diff[i] = 2.0 * half[i] - full[i]
        out = wma_line(diff, int(math.sqrt(period)))
    elif ma_type == "DEMA":
        e1 = ema_line(x, period)
        e2 = ema_line(e1, period)
        for i in range(n):
            out[i] = 2.0 * e1[i] - e2[i]
    elif ma_type == "LSMA":
        # least-squares line over each window, evaluated at its last point (vectorized
        # NumPy: Numba has neither sliding_window_view nor a 2-D polyfit)
        windows = np.lib.stride_tricks.sliding_window_view(x, period)
        slope, intercept = np.polyfit(np.arange(period), windows.T, 1)
        out[: period - 1] = np.nan
        out[period - 1 :] = intercept + slope * (period - 1)
    else:  # KAMA: Kaufman's adaptive average, fast 2 and slow 30
        fast = 2.0 / 3.0
        slow = 2.0 / 31.0
        out[0] = x[0]
        for i in range(1, n):
            if i < period:
                out[i] = x[i]
                continue
            change = abs(x[i] - x[i - period])
            volatility = 0.0
            for k in range(i - period + 1, i + 1):
                volatility += abs(x[k] - x[k - 1])
            er = change / volatility if volatility > 0.0 else 0.0
            sc = (er * (fast - slow) + slow) ** 2
            out[i] = out[i - 1] + sc * (x[i] - out[i - 1])
    return out


def crossover_backtest(prices, fast, slow, cost):
    """Long when ``fast`` is above ``slow``; returns (pnl, trades)."""
    n = prices.shape[0]
    position = 0
    entry = 0.0
    cash = 0.0
    trades = 0
    for i in range(n):
        if fast[i] != fast[i] or slow[i] != slow[i]:  # NaN warm-up
            continue
        want = 1 if fast[i] > slow[i] else 0
        if want != position:
            if want == 1:
                entry = prices[i]
            else:
                cash += prices[i] - entry
            cash -= cost * prices[i]
            trades += 1
            position = want
    if position == 1:
        cash += prices[n - 1] - entry
    return cash, trades


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

PRESETS = {
    "trend": [("EMA", 12), ("DEMA", 26), ("EMA", 50)],
    "swing": [("HMA", 16), ("WMA", 30), ("KAMA", 10)],
    "regression": [("LSMA", 14), ("LSMA", 40), ("WMA", 20)],
}


def make_prices(n, seed):
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.00001, 0.002, size=n)
    return 100.0 * np.exp(np.cumsum(returns))


def analyse_chunk(chunk, lines):
    values = [moving_average(chunk, ma_type, period) for ma_type, period in lines]
    pnl, trades = crossover_backtest(chunk, values[0], values[-1], 0.0005)
    return pnl, trades, [float(v[-1]) for v in values]


_WORKLOAD_PRICES = None


def workload():
    """One kernel-only batch (no printing) for steady-state benchmarking."""
    global _WORKLOAD_PRICES
    if _WORKLOAD_PRICES is None:
        _WORKLOAD_PRICES = make_prices(20_000, 7)
    for lines in PRESETS.values():
        analyse_chunk(_WORKLOAD_PRICES, lines)


def parse_args(argv):
    opts = {"n": 200_000, "chunk": 4_000, "seed": 12345}
    i = 0
    while i < len(argv):
        key = argv[i].lstrip("-")
        if key in opts and i + 1 < len(argv):
            opts[key] = int(argv[i + 1])
            i += 2
        else:
            raise SystemExit("usage: signals.py [--n N] [--chunk C] [--seed S]")
    return opts


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    prices = make_prices(opts["n"], opts["seed"])
    chunk = opts["chunk"]
    start = time.perf_counter()
    totals = {name: [0.0, 0, 0.0] for name in PRESETS}
    for begin in range(0, opts["n"] - chunk + 1, chunk):
        piece = prices[begin : begin + chunk]
        for name, lines in PRESETS.items():
            pnl, trades, last = analyse_chunk(piece, lines)
            totals[name][0] += pnl
            totals[name][1] += trades
            totals[name][2] += sum(last)
    elapsed = time.perf_counter() - start
    for name, (pnl, trades, level) in totals.items():
        print(f"{name:<11} pnl {pnl:12.6f}  trades {trades:6d}  level-sum {level:14.6f}")
    print(f"elapsed {elapsed:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()

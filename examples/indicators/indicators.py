"""Trading indicators over a synthetic price series.

Plain-Python quant code: every indicator is an explicit ``for`` loop over
numpy arrays.  The main program evaluates the indicators for several
parameter sets over many chunks of a long geometric-random-walk price series
and runs a moving-average crossover backtest on each chunk.

Usage: python indicators.py [--n N_PRICES] [--chunk CHUNK] [--seed SEED]
"""

import math
import sys
import time

import numpy as np

# ---------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------


def ema(x, alpha):
    """Exponential moving average with smoothing factor ``alpha``."""
    n = x.shape[0]
    out = np.empty(n)
    if n == 0:
        return out
    acc = x[0]
    out[0] = acc
    for i in range(1, n):
        acc = alpha * x[i] + (1.0 - alpha) * acc
        out[i] = acc
    return out


def rolling_mean_std(x, window):
    """Rolling mean and (population) standard deviation with running sums.

    The first ``window - 1`` entries are NaN.
    """
    n = x.shape[0]
    mean = np.empty(n)
    std = np.empty(n)
    s = 0.0
    s2 = 0.0
    for i in range(n):
        v = x[i]
        s += v
        s2 += v * v
        if i >= window:
            old = x[i - window]
            s -= old
            s2 -= old * old
        if i >= window - 1:
            m = s / window
            var = s2 / window - m * m
            if var < 0.0:
                var = 0.0
            mean[i] = m
            std[i] = math.sqrt(var)
        else:
            mean[i] = np.nan
            std[i] = np.nan
    return mean, std


def _efficiency_ratio(x, i, n_er):
    """Kaufman efficiency ratio |x[i]-x[i-n]| / sum |dx| over the window."""
    change = abs(x[i] - x[i - n_er])
    vol = 0.0
    for j in range(i - n_er + 1, i + 1):
        vol += abs(x[j] - x[j - 1])
    if vol == 0.0:
        return 0.0
    return change / vol


def kama(x, n_er, fast, slow):
    """Kaufman adaptive moving average."""
    n = x.shape[0]
    out = np.empty(n)
    fast_sc = 2.0 / (fast + 1.0)
    slow_sc = 2.0 / (slow + 1.0)
    for i in range(min(n_er, n)):
        out[i] = x[i]
    for i in range(n_er, n):
        er = _efficiency_ratio(x, i, n_er)
        sc = er * (fast_sc - slow_sc) + slow_sc
        sc = sc * sc
        out[i] = out[i - 1] + sc * (x[i] - out[i - 1])
    return out


def rsi(x, period):
    """Relative strength index with Wilder smoothing (0..100, NaN warm-up)."""
    n = x.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = np.nan
    if n <= period:
        return out
    gain = 0.0
    loss = 0.0
    for i in range(1, period + 1):
        d = x[i] - x[i - 1]
        if d > 0.0:
            gain += d
        else:
            loss -= d
    gain /= period
    loss /= period
    out[period] = _rsi_value(gain, loss)
    for i in range(period + 1, n):
        d = x[i] - x[i - 1]
        g = d if d > 0.0 else 0.0
        lo = -d if d < 0.0 else 0.0
        gain = (gain * (period - 1) + g) / period
        loss = (loss * (period - 1) + lo) / period
        out[i] = _rsi_value(gain, loss)
    return out


def _rsi_value(gain, loss):
    if loss == 0.0:
        return 100.0
    rs = gain / loss
    return 100.0 - 100.0 / (1.0 + rs)


def crossover_backtest(prices, fast_ma, slow_ma, rsi_values, cost):
    """Long/flat crossover strategy with an RSI overbought filter.

    Goes long when the fast MA is above the slow MA and RSI < 70, flat
    otherwise.  Returns (pnl, n_trades, max_drawdown, equity).
    """
    n = prices.shape[0]
    equity = np.empty(n)
    position = 0
    cash = 0.0
    entry = 0.0
    trades = 0
    peak = 0.0
    max_dd = 0.0
    for i in range(n):
        p = prices[i]
        want = 0
        r = rsi_values[i]
        if fast_ma[i] > slow_ma[i] and not (r >= 70.0):
            want = 1
        if want != position:
            if want == 1:
                entry = p
            else:
                cash += p - entry
            cash -= cost * p
            trades += 1
            position = want
        value = cash
        if position == 1:
            value += p - entry
        equity[i] = value
        if value > peak:
            peak = value
        dd = peak - value
        if dd > max_dd:
            max_dd = dd
    return cash + (prices[n - 1] - entry if position == 1 else 0.0), trades, max_dd, equity


def bollinger_zscore(x, mean, std):
    """(x - mean) / std with NaN where std is NaN or zero."""
    n = x.shape[0]
    out = np.empty(n)
    for i in range(n):
        s = std[i]
        if s > 0.0:
            out[i] = (x[i] - mean[i]) / s
        else:
            out[i] = np.nan
    return out


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

PARAM_SETS = [
    # (fast_alpha, slow_alpha, window, kama_er, kama_fast, kama_slow, rsi_period)
    (0.20, 0.05, 20, 10, 2.0, 30.0, 14),
    (0.10, 0.02, 50, 14, 3.0, 40.0, 21),
    (0.30, 0.08, 10, 8, 2.0, 20.0, 9),
    (0.15, 0.03, 30, 20, 2.0, 50.0, 28),
    (0.25, 0.04, 40, 12, 2.5, 35.0, 14),
]


def make_prices(n, seed):
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.00001, 0.002, size=n)
    return 100.0 * np.exp(np.cumsum(returns))


def analyse_chunk(chunk, params):
    fa, sa, window, n_er, kf, ks, period = params
    fast = ema(chunk, fa)
    slow = ema(chunk, sa)
    adaptive = kama(chunk, n_er, kf, ks)
    mean, std = rolling_mean_std(chunk, window)
    z = bollinger_zscore(chunk, mean, std)
    strength = rsi(chunk, period)
    pnl, trades, max_dd, equity = crossover_backtest(chunk, fast, slow, strength, 0.0005)
    pnl_k, trades_k, dd_k, _ = crossover_backtest(chunk, adaptive, mean, strength, 0.0005)
    return {
        "pnl": pnl,
        "trades": trades,
        "max_dd": max_dd,
        "pnl_kama": pnl_k,
        "trades_kama": trades_k,
        "max_dd_kama": dd_k,
        "z_extreme": int(np.sum(np.abs(z[window:]) > 2.0)),
        "rsi_mean": float(np.mean(strength[period:])),
        "equity_end": float(equity[-1]),
        "kama_last": float(adaptive[-1]),
    }


_WORKLOAD_PRICES = None


def workload():
    """One kernel-only batch (no printing) for steady-state benchmarking."""
    global _WORKLOAD_PRICES
    if _WORKLOAD_PRICES is None:
        _WORKLOAD_PRICES = make_prices(40_000, 7)
    x = _WORKLOAD_PRICES
    for params in PARAM_SETS:
        fa, sa, window, n_er, kf, ks, period = params
        fast = ema(x, fa)
        slow = ema(x, sa)
        kama(x, n_er, kf, ks)
        mean, std = rolling_mean_std(x, window)
        bollinger_zscore(x, mean, std)
        strength = rsi(x, period)
        crossover_backtest(x, fast, slow, strength, 0.0005)


def parse_args(argv):
    opts = {"n": 200_000, "chunk": 10_000, "seed": 12345}
    i = 0
    while i < len(argv):
        key = argv[i].lstrip("-")
        if key in opts and i + 1 < len(argv):
            opts[key] = int(argv[i + 1])
            i += 2
        else:
            raise SystemExit("usage: indicators.py [--n N] [--chunk C] [--seed S]")
    return opts


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    t0 = time.perf_counter()
    prices = make_prices(opts["n"], opts["seed"])
    chunk = opts["chunk"]
    print(f"prices: n={prices.shape[0]} first={float(prices[0]):.6f} last={float(prices[-1]):.6f}")

    for pi, params in enumerate(PARAM_SETS):
        total_pnl = 0.0
        total_pnl_k = 0.0
        total_trades = 0
        total_trades_k = 0
        worst_dd = 0.0
        rsi_means = []
        z_extreme = 0
        for start in range(0, prices.shape[0], chunk):
            seg = prices[start : start + chunk]
            if seg.shape[0] < 100:
                continue
            r = analyse_chunk(seg, params)
            total_pnl += r["pnl"]
            total_pnl_k += r["pnl_kama"]
            total_trades += r["trades"]
            total_trades_k += r["trades_kama"]
            worst_dd = max(worst_dd, r["max_dd"], r["max_dd_kama"])
            rsi_means.append(r["rsi_mean"])
            z_extreme += r["z_extreme"]
        print(f"params[{pi}] {params}")
        print(f"  ema-cross : pnl={total_pnl:.8f} trades={total_trades}")
        print(f"  kama-cross: pnl={total_pnl_k:.8f} trades={total_trades_k}")
        print(f"  worst drawdown={worst_dd:.8f} |z|>2 count={z_extreme}")
        print(f"  mean RSI={sum(rsi_means) / len(rsi_means):.8f}")

    # Whole-series indicators, summarised by checksums.
    full_fast = ema(prices, 0.01)
    full_kama = kama(prices, 30, 2.0, 30.0)
    full_mean, full_std = rolling_mean_std(prices, 250)
    full_rsi = rsi(prices, 14)
    print(f"full ema checksum  = {float(np.sum(full_fast))!r}")
    print(f"full kama checksum = {float(np.sum(full_kama))!r}")
    print(f"full mean checksum = {float(np.nansum(full_mean))!r}")
    print(f"full std checksum  = {float(np.nansum(full_std))!r}")
    print(f"full rsi checksum  = {float(np.nansum(full_rsi))!r}")
    print(f"elapsed {time.perf_counter() - t0:.2f}s", file=sys.stderr)


if __name__ == "__main__":
    main()

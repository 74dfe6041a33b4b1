"""Warehouse planning: numeric kernels mixed with ordinary object-heavy code.

1. Generates two years of daily demand history per SKU (numpy).
2. Numeric part (kernels): fits Holt's linear-trend exponential smoothing by
   grid search and tunes an (s, Q) reorder policy per SKU by simulating the
   inventory over the history for every candidate policy.
3. Object part (plain Python): a discrete-event simulation of the warehouse
   with dataclasses, a heap of events, generators, dicts, exceptions,
   sorting and a formatted report.

Usage: python mixed.py [--skus N] [--days D] [--sim_days S] [--seed SEED]
"""

import heapq
import math
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

# ---------------------------------------------------------------------------
# Numeric kernels
# ---------------------------------------------------------------------------


def holt_forecast(demand, alpha, beta, horizon):
    """Holt's linear trend smoothing.

    Returns (in-sample one-step-ahead SSE, forecast array of ``horizon`` days).
    """
    n = demand.shape[0]
    level = demand[0]
    trend = demand[1] - demand[0] if n > 1 else 0.0
    sse = 0.0
    for t in range(1, n):
        pred = level + trend
        err = demand[t] - pred
        sse += err * err
        new_level = alpha * demand[t] + (1.0 - alpha) * (level + trend)
        trend = beta * (new_level - level) + (1.0 - beta) * trend
        level = new_level
    out = np.empty(horizon)
    for h in range(horizon):
        v = level + (h + 1) * trend
        out[h] = v if v > 0.0 else 0.0
    return sse, out


def simulate_policy(demand, reorder_point, order_qty, lead_time, holding_cost, stockout_cost):
    """Simulate a continuous-review (s, Q) policy over a demand series.

    Returns (total_cost, units_short, n_orders).
    """
    n = demand.shape[0]
    pipeline = np.zeros(lead_time + 1)
    on_hand = reorder_point + order_qty
    on_order = 0.0
    cost = 0.0
    short = 0.0
    orders = 0
    for t in range(n):
        slot = t % (lead_time + 1)
        arriving = pipeline[slot]
        if arriving > 0.0:
            on_hand += arriving
            on_order -= arriving
            pipeline[slot] = 0.0
        d = demand[t]
        if d <= on_hand:
            on_hand -= d
        else:
            short += d - on_hand
            on_hand = 0.0
        if on_hand + on_order <= reorder_point:
            pipeline[(t + lead_time) % (lead_time + 1)] += order_qty
            on_order += order_qty
            orders += 1
        cost += holding_cost * on_hand
    cost += stockout_cost * short + 20.0 * orders
    return cost, short, orders


# ---------------------------------------------------------------------------
# Domain objects (plain Python)
# ---------------------------------------------------------------------------


class OutOfStock(Exception):
    def __init__(self, sku, requested, available):
        super().__init__(f"{sku}: requested {requested}, only {available} available")
        self.sku = sku
        self.requested = requested
        self.available = available


@dataclass
class Sku:
    code: str
    category: str
    unit_price: float
    lead_time: int
    history: np.ndarray = field(repr=False)
    reorder_point: float = 0.0
    order_qty: float = 0.0
    alpha: float = 0.0
    beta: float = 0.0
    forecast_30: float = 0.0


@dataclass(order=True)
class Event:
    day: int
    seq: int
    kind: str = field(compare=False)
    sku: str = field(compare=False)
    qty: int = field(compare=False)
    customer: str = field(compare=False, default="")


@dataclass
class Ledger:
    revenue: float = 0.0
    lost_sales: float = 0.0
    fulfilled: int = 0
    partial: int = 0
    rejected: int = 0
    by_category: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    log: list[str] = field(default_factory=list)


class Warehouse:
    def __init__(self, skus):
        self.skus = {s.code: s for s in skus}
        self.stock = {s.code: round(s.reorder_point + s.order_qty) for s in skus}
        self.on_order = Counter()
        self.ledger = Ledger()

    def take(self, code, qty):
        available = self.stock[code]
        if qty > available:
            raise OutOfStock(code, qty, available)
        self.stock[code] = available - qty
        return qty

    def needs_reorder(self, code):
        sku = self.skus[code]
        return self.stock[code] + self.on_order[code] <= sku.reorder_point

    def receive(self, code, qty):
        self.stock[code] += qty
        self.on_order[code] -= qty


def customer_orders(rng: random.Random, skus: list[Sku], days: int) -> Iterator[Event]:
    """Generator of customer order events."""
    names = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell"]
    mean_demand = {sku.code: float(sku.history.mean()) for sku in skus}
    seq = 0
    for day in range(days):
        n_orders = rng.randint(100, 200)
        per_sku = n_orders / len(skus)
        for _ in range(n_orders):
            sku = rng.choice(skus)
            mean_qty = max(1.0, mean_demand[sku.code] / per_sku)
            qty = max(1, int(rng.expovariate(1.0 / mean_qty)))
            seq += 1
            yield Event(day, seq, "order", sku.code, qty, rng.choice(names))


def run_event_simulation(warehouse: Warehouse, rng: random.Random, days: int) -> Ledger:
    ledger = warehouse.ledger
    events: list[Event] = []
    for ev in customer_orders(rng, list(warehouse.skus.values()), days):
        heapq.heappush(events, ev)
    seq = 10**9
    while events:
        ev = heapq.heappop(events)
        sku = warehouse.skus[ev.sku]
        if ev.kind == "arrival":
            warehouse.receive(ev.sku, ev.qty)
            ledger.log.append(f"day {ev.day:4d}: received {ev.qty:5d} x {ev.sku}")
            continue
        try:
            warehouse.take(ev.sku, ev.qty)
            ledger.fulfilled += 1
            amount = ev.qty * sku.unit_price
            ledger.revenue += amount
            ledger.by_category[sku.category] += amount
        except OutOfStock as exc:
            if exc.available > 0:
                warehouse.take(ev.sku, exc.available)
                ledger.partial += 1
                amount = exc.available * sku.unit_price
                ledger.revenue += amount
                ledger.by_category[sku.category] += amount
            else:
                ledger.rejected += 1
            ledger.lost_sales += (exc.requested - exc.available) * sku.unit_price
        if warehouse.needs_reorder(ev.sku):
            qty = round(sku.order_qty)
            warehouse.on_order[ev.sku] += qty
            seq += 1
            heapq.heappush(events, Event(ev.day + sku.lead_time, seq, "arrival", ev.sku, qty))
    return ledger


# ---------------------------------------------------------------------------
# Planning (drives the kernels)
# ---------------------------------------------------------------------------

CATEGORIES = ["tools", "garden", "kitchen", "toys", "office"]
ALPHAS = [0.05, 0.1, 0.15, 0.2, 0.3, 0.5]
BETAS = [0.01, 0.03, 0.05, 0.1, 0.2, 0.3]


def make_skus(rng, n_skus, days):
    skus = []
    for k in range(n_skus):
        base = float(rng.uniform(5.0, 60.0))
        trend = float(rng.normal(0.0, 0.01))
        season = float(rng.uniform(0.0, 0.4))
        t = np.arange(days)
        lam = base * np.maximum(
            0.2, 1.0 + trend * t / 30.0 + season * np.sin(2 * np.pi * t / 365.0)
        )
        history = rng.poisson(lam).astype(np.float64)
        skus.append(
            Sku(
                code=f"SKU-{k:03d}",
                category=CATEGORIES[k % len(CATEGORIES)],
                unit_price=round(float(rng.uniform(2.0, 80.0)), 2),
                lead_time=int(rng.integers(2, 12)),
                history=history,
            )
        )
    return skus


def fit_forecast(sku):
    best = None
    for a in ALPHAS:
        for b in BETAS:
            sse, fc = holt_forecast(sku.history, a, b, 30)
            if best is None or sse < best[0]:
                best = (sse, a, b, fc)
    sse, sku.alpha, sku.beta, fc = best
    sku.forecast_30 = float(fc.sum())
    return math.sqrt(sse / (sku.history.shape[0] - 1))


def tune_policy(sku, rmse):
    mean_daily = sku.forecast_30 / 30.0
    lead_demand = mean_daily * sku.lead_time
    safety_grid = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0]
    qty_grid = [mean_daily * d for d in (2, 3, 5, 7, 10, 14, 21, 30, 45, 60)]
    holding = 0.002 * sku.unit_price
    penalty = 0.5 * sku.unit_price
    results = []
    for z in safety_grid:
        s = lead_demand + z * rmse * math.sqrt(sku.lead_time)
        for q in qty_grid:
            cost, short, orders = simulate_policy(
                sku.history, s, q, sku.lead_time, holding, penalty
            )
            results.append((cost, s, q, short, orders))
    results.sort(key=lambda r: (r[0], r[1], r[2]))
    cost, s, q, short, orders = results[0]
    sku.reorder_point = s
    sku.order_qty = q
    return cost, short, orders


_WORKLOAD_SKUS = None


def workload():
    """One kernel-only batch (no printing) for steady-state benchmarking."""
    global _WORKLOAD_SKUS
    if _WORKLOAD_SKUS is None:
        _WORKLOAD_SKUS = make_skus(np.random.default_rng(5), 24, 1095)
    for sku in _WORKLOAD_SKUS:
        for a in ALPHAS:
            for b in BETAS:
                holt_forecast(sku.history, a, b, 30)
        mean_daily = float(sku.history.mean())
        for z in (0.0, 1.0, 2.0, 3.0):
            for d in (3, 7, 14, 30):
                simulate_policy(
                    sku.history,
                    mean_daily * (sku.lead_time + z),
                    mean_daily * d,
                    sku.lead_time,
                    0.1,
                    5.0,
                )


def parse_args(argv):
    opts = {"skus": 80, "days": 1095, "sim_days": 365, "seed": 31337}
    i = 0
    while i < len(argv):
        key = argv[i].lstrip("-")
        if key in opts and i + 1 < len(argv):
            opts[key] = int(argv[i + 1])
            i += 2
        else:
            raise SystemExit("usage: mixed.py [--skus N] [--days D] [--sim_days S] [--seed SEED]")
    return opts


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    t0 = time.perf_counter()
    rng = np.random.default_rng(opts["seed"])
    skus = make_skus(rng, opts["skus"], opts["days"])

    plans = []
    for sku in skus:
        rmse = fit_forecast(sku)
        cost, short, orders = tune_policy(sku, rmse)
        plans.append({"sku": sku, "rmse": rmse, "cost": cost, "short": short, "orders": orders})
    t1 = time.perf_counter()

    print(f"Planned {len(plans)} SKUs over {opts['days']} days of history")
    print(
        f"{'sku':8s} {'cat':8s} {'lead':>4s} {'alpha':>5s} {'beta':>5s} "
        f"{'rmse':>9s} {'s':>10s} {'Q':>10s} {'cost':>14s} {'short':>9s} {'orders':>6s}"
    )
    for p in sorted(plans, key=lambda p: (-p["cost"], p["sku"].code))[:15]:
        s = p["sku"]
        print(
            f"{s.code:8s} {s.category:8s} {s.lead_time:4d} {s.alpha:5.2f} {s.beta:5.2f} "
            f"{p['rmse']:9.4f} {s.reorder_point:10.4f} {s.order_qty:10.4f} "
            f"{p['cost']:14.4f} {p['short']:9.1f} {p['orders']:6d}"
        )
    per_cat = defaultdict(list)
    for p in plans:
        per_cat[p["sku"].category].append(p["cost"])
    for cat in sorted(per_cat):
        costs = per_cat[cat]
        print(f"category {cat:8s}: {len(costs):2d} skus, planned cost {sum(costs):16.4f}")

    warehouse = Warehouse(skus)
    ledger = run_event_simulation(warehouse, random.Random(opts["seed"]), opts["sim_days"])
    t2 = time.perf_counter()
    print(f"Event simulation over {opts['sim_days']} days:")
    print(f"  fulfilled={ledger.fulfilled} partial={ledger.partial} rejected={ledger.rejected}")
    print(f"  revenue={ledger.revenue:.2f} lost={ledger.lost_sales:.2f}")
    for cat, amount in sorted(ledger.by_category.items(), key=lambda kv: -kv[1]):
        print(f"  {cat:8s} {amount:14.2f}")
    low = sorted(warehouse.stock.items(), key=lambda kv: (kv[1], kv[0]))[:5]
    print("  lowest stock: " + ", ".join(f"{code}={qty}" for code, qty in low))
    print(f"  arrivals logged: {len(ledger.log)}; last: {ledger.log[-1] if ledger.log else '-'}")
    print(f"elapsed planning={t1 - t0:.2f}s events={t2 - t1:.2f}s", file=sys.stderr)


if __name__ == "__main__":
    main()

"""The pattern bound: a Lagrangian bound of the batch where each order's part is an exact integer allocation.

Relax only the rows orders share (usable stock per (location, sku), parcel slots per capacitated location) with
multipliers sigma, kappa <= 0. What is left splits by order, and each order's part is solved exactly over its
integer allocations (routing/patterns.py), so each parcel pays its whole cost. For *any* sigma, kappa <= 0

    L(sigma, kappa) = sum_orders min_patterns (cost - sigma . units - kappa . parcels)
                      + sum_stock avail * sigma + sum_caps cap * kappa + offset

is a lower bound of every plan: a plan is one pattern per order within stock and capacity, so each of its
orders costs at least its min, and the added terms sigma (avail - used) and kappa (cap - parcels) are <= 0.
Where an order's search ran out of work the min is replaced by a lower bound of it, and at the LP's duals by the
larger of that and the order's share of the LP's Lagrangian bound (a bound of the same min over a relaxation).

Multipliers: the LP's duals first, then Dantzig-Wolfe rounds: a master LP over the patterns found (one convexity
row per order, the shared rows) gives new duals, every order is priced against them, the cheapest patterns enter.
The best L over the points tried is the bound; it is never below the LP's own bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from highspy import HighsModelStatus, kHighsInf
from highspy._core import _Highs  # the public wrapper prints a banner on stdout (see routing/colgen.py)

from routing.colgen import Duals, LPResult
from routing.guard import Guard
from routing.network import Network, OrderAlloc
from routing.pairs import PairTable
from routing.patterns import PatternPricer, Pricing

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# A master column: order, true cost (without the existing-parcel offset), units per stock entry, parcel locations.
Column = tuple[int, float, dict[int, int], list[int]]
PRICING_TOLERANCE = 1e-6
# Share of the best multipliers so far in the point each round prices at (the rest: the master's duals).
SMOOTHING = 0.5
# One-location patterns per order put in the first master besides the plan's and the best found (its first duals
# are then less extreme).
SINGLES_PER_ORDER = 4
MIN_ROUNDS = 6


@dataclass
class BoundResult:
    """The best pattern bound found and how it was reached."""

    bound: float | None = None
    at_lp_duals: float | None = None
    rounds: int = 0
    columns: int = 0
    iterations: int = 0
    work: float = 0.0
    exact_orders: int = 0
    searched: int = 0
    cut: int = 0
    status: str = "not run"
    history: list[float] = field(default_factory=list)


class PatternMaster:
    """The Dantzig-Wolfe master LP on HiGHS: convexity row per order, stock and slot rows added as columns use them."""

    def __init__(self, net: Network, table: PairTable) -> None:
        self.net, self.t = net, table
        n = len(net.orders)
        h = _Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("random_seed", 0)
        self.h = h
        h.addRows(n, np.ones(n), np.ones(n), 0, np.zeros(n, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))
        self.n_rows = n
        self.stock_row: dict[int, int] = {}
        self.cap_row: dict[int, int] = {}
        self.seen: set[tuple[int, tuple[tuple[int, int], ...]]] = set()
        self.n_cols = 0
        self.iterations = 0
        avail = table.rows.stock_avail
        self.avail = avail.astype(np.float64)
        self.caps = [c for c in net.capacity]

    def add(self, patterns: list[Column]) -> int:
        """Add patterns (order, cost, units per stock entry, locations with a parcel) not in the master yet."""
        new_rows_lo: list[float] = []
        new_rows_up: list[float] = []
        cost: list[float] = []
        index: list[IntArray] = []
        value: list[FloatArray] = []
        for o, c, units, locs in patterns:
            key = (o, tuple(sorted(units.items())) + tuple((-1 - loc, 1) for loc in sorted(locs)))
            if key in self.seen:
                continue
            self.seen.add(key)
            rws = [o]
            vals = [1.0]
            for s, q in sorted(units.items()):
                r = self.stock_row.get(s)
                if r is None:
                    r = self.stock_row[s] = self.n_rows + len(new_rows_lo)
                    new_rows_lo.append(-kHighsInf)
                    new_rows_up.append(float(self.avail[s]))
                rws.append(r)
                vals.append(float(q))
            for loc in sorted(locs):
                cap = self.caps[loc]
                if cap is None:
                    continue
                r = self.cap_row.get(loc)
                if r is None:
                    r = self.cap_row[loc] = self.n_rows + len(new_rows_lo)
                    new_rows_lo.append(-kHighsInf)
                    new_rows_up.append(float(cap))
                rws.append(r)
                vals.append(1.0)
            cost.append(c)
            index.append(np.asarray(rws, dtype=np.int64))
            value.append(np.asarray(vals))
        if new_rows_lo:
            k = len(new_rows_lo)
            self.h.addRows(k, np.asarray(new_rows_lo), np.asarray(new_rows_up), 0, np.zeros(k, dtype=np.int32),
                           np.zeros(0, dtype=np.int32), np.zeros(0))
            self.n_rows += k
        m = len(cost)
        if m:
            sizes = np.fromiter((len(i) for i in index), dtype=np.int64, count=m)
            starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int32)
            self.h.addCols(m, np.asarray(cost), np.zeros(m), np.full(m, kHighsInf), int(sizes.sum()), starts,
                           np.concatenate(index).astype(np.int32), np.concatenate(value))
            self.n_cols += m
        return m

    def solve(self, iteration_limit: int, seconds: float) -> HighsModelStatus:
        """Re-solve from the last basis within an iteration budget and the guard's time."""
        self.h.setOptionValue("simplex_iteration_limit", max(1, iteration_limit))
        self.h.setOptionValue("time_limit", self.h.getRunTime() + max(0.01, seconds))
        self.h.run()
        self.iterations += max(0, int(self.h.getInfo().simplex_iteration_count))
        return self.h.getModelStatus()

    def reduced_cost(self, column: Column, stock: FloatArray, cap: FloatArray,
                     conv: FloatArray) -> float:
        """A column's reduced cost at the master's duals."""
        o, c, units, locs = column
        return (c - sum(q * float(stock[s]) for s, q in units.items()) - sum(float(cap[loc]) for loc in locs)
                - float(conv[o]))

    def convexity_duals(self) -> FloatArray:
        """The dual of each order's convexity row."""
        return np.asarray(self.h.getSolution().row_dual, dtype=np.float64)[: len(self.net.orders)]

    def duals(self) -> tuple[FloatArray, FloatArray]:
        """Stock and slot multipliers (<= 0, clipped) for every stock entry and location (0 where no row)."""
        row = np.asarray(self.h.getSolution().row_dual, dtype=np.float64)
        stock = np.zeros(self.avail.shape[0])
        for s, r in self.stock_row.items():
            stock[s] = min(0.0, float(row[r]))
        cap = np.zeros(len(self.caps))
        for loc, r in self.cap_row.items():
            cap[loc] = min(0.0, float(row[r]))
        return stock, cap


def pattern_columns(net: Network, t: PairTable, pricer: PatternPricer, pricing: Pricing) -> list[Column]:
    """The best pattern found for each order as a master column with its true cost."""
    assert pricing.unit is not None and pricing.useful is not None
    out = []
    for o in range(len(net.orders)):
        units = pricer.units(pricing.best_pairs[o], pricing.unit, pricing.useful)
        locs = [int(t.loc[p]) for p in pricing.best_pairs[o]]
        out.append((o, _true_cost(net, t, o, units, locs), {int(t.entry_stock[e]): q for e, q in units.items()}, locs))
    return out


def single_columns(net: Network, t: PairTable, pricer: PatternPricer, pricing: Pricing, k: int) -> list[Column]:
    """Each order's k cheapest one-location patterns at the prices of `pricing`, as master columns."""
    assert pricing.unit is not None and pricing.useful is not None
    unit, useful = pricing.unit, pricing.useful
    gain = np.where(useful, pricer.entry_m * (unit - pricer.penalty), 0.0)
    single = t.parcel + np.bincount(t.entry_pair, weights=gain, minlength=t.size)
    single = np.where(pricer.usable, single, np.inf)
    ranked = np.lexsort((np.arange(t.size), single, t.order))
    rank = np.arange(t.size) - np.searchsorted(t.order[ranked], t.order[ranked], side="left")
    out = []
    for p in ranked[(rank < k) & np.isfinite(single[ranked])].tolist():
        o = int(t.order[p])
        units = pricer.units([p], unit, useful)
        locs = [int(t.loc[p])]
        out.append((o, _true_cost(net, t, o, units, locs), {int(t.entry_stock[e]): q for e, q in units.items()}, locs))
    return out


def alloc_columns(net: Network, t: PairTable, allocs: list[OrderAlloc]) -> list[Column]:
    """Each order's allocation in a plan as a master column."""
    index = t.rows.stock_index
    out = []
    p = net.params
    for o, alloc in enumerate(allocs):
        od = net.orders[o]
        units = {index[(loc, sku)]: q for loc, lines in alloc.items() for sku, q in lines.items() if q > 0}
        parcel = {a.loc: a.parcel for a in od.arcs if a.loc in alloc}
        shipped = sum(units.values())
        cost = sum(parcel[loc] + p.split_penalty + net.pick[loc] * sum(alloc[loc].values()) for loc in alloc)
        if alloc and od.order.existing_shipments == 0:
            cost -= p.split_penalty
        cost += p.unfilled_penalty * (od.units - shipped)
        out.append((o, cost, units, sorted(alloc)))
    return out


def _true_cost(net: Network, t: PairTable, o: int, units: dict[int, int], locs: list[int]) -> float:
    """Cost of one order's pattern without the existing-parcel offset (added once for the batch)."""
    p = net.params
    od = net.orders[o]
    a, b = int(t.order_start[o]), int(t.order_start[o + 1])
    parcel = {int(t.loc[i]): float(t.parcel[i]) for i in range(a, b) if int(t.loc[i]) in locs}
    cost = sum(parcel[loc] + p.split_penalty for loc in locs)
    if locs and od.order.existing_shipments == 0:
        cost -= p.split_penalty
    shipped = 0
    for e, q in units.items():
        cost += q * net.pick[int(t.loc[int(t.entry_pair[e])])]
        shipped += q
    return cost + p.unfilled_penalty * (od.units - shipped)


class PatternBound:
    """L(sigma, kappa) of the module docstring, evaluated with the exact pricer."""

    def __init__(self, net: Network, t: PairTable) -> None:
        self.net, self.t = net, t
        self.pricer = PatternPricer(net, t)
        self.avail = t.rows.stock_avail.astype(np.float64)
        self.caps = np.asarray([0.0 if c is None else float(c) for c in net.capacity])
        existing = np.asarray([od.order.existing_shipments for od in net.orders], dtype=np.int64)
        self.offset = float(net.params.split_penalty * np.maximum(existing - 1, 0).sum())

    def evaluate(self, stock: FloatArray, cap: FloatArray, work: int, guard: Guard | None = None,
                 floor: FloatArray | None = None) -> tuple[float, Pricing]:
        """L at these multipliers (<= 0); `floor`: other valid per-order bounds at the same multipliers."""
        pricing = self.pricer.price(-stock, -cap, work, guard, floor)
        per_order = pricing.value
        resources = float(self.avail @ stock + self.caps @ cap)
        return float(per_order.sum()) + resources + self.offset, pricing


def pattern_bound(net: Network, t: PairTable, lp: LPResult, allocs: list[OrderAlloc], work: int, iterations: int,
                  guard: Guard) -> BoundResult:
    """The pattern bound at the LP's duals, then Dantzig-Wolfe rounds while `work` (pricing work, deterministic)
    and `iterations` (the master's simplex iterations) last; `allocs`, a feasible plan, seeds (and makes feasible)
    the master.

    Each round prices at a point between the best multipliers so far and the master's duals (smoothing: the
    master's first duals are far from the LP's, whose point is already good); when that finds no column the
    master wants, the next round prices at the master's duals themselves, and when those find none either the
    master is optimal: its value is the best bound of this kind (the Lagrangian dual)."""
    out = BoundResult()
    if lp.duals is None or lp.order_bound is None:
        out.status = "no LP duals"
        return out
    if work < t.size:
        out.status = "work budget below one pricing pass"
        return out
    pb = PatternBound(net, t)
    d: Duals = lp.duals
    bound, pricing = pb.evaluate(d.stock, d.cap, work, guard, lp.order_bound)
    out.work = pricing.work
    out.bound = out.at_lp_duals = bound
    out.history.append(bound)
    out.exact_orders = int(pricing.exact.sum())
    out.searched, out.cut = pricing.searched, pricing.cut
    out.status = "at LP duals"
    centre = (d.stock, d.cap)
    master: PatternMaster | None = None
    weight = SMOOTHING
    # A few rounds price worse points than the LP's duals before the master's improve on them (measured: 3 rounds
    # did not pay at 2,000 x 200, 9 rounds to the master's optimum gained 0.08%): start only with room for several.
    if work - out.work < MIN_ROUNDS * pricing.work:
        return out
    while out.work + pricing.work <= work and not guard.expired("pattern bound"):
        if master is None:
            master = PatternMaster(net, t)
            master.add(alloc_columns(net, t, allocs))
            master.add(pattern_columns(net, t, pb.pricer, pricing))
            master.add(single_columns(net, t, pb.pricer, pricing, SINGLES_PER_ORDER))
        left = iterations - master.iterations
        if left <= 0:
            break
        status = master.solve(left, guard.left())
        if status != HighsModelStatus.kOptimal:
            if status == HighsModelStatus.kTimeLimit:
                guard.fire("pattern bound")
            out.status = f"master {master.h.modelStatusToString(status)}"
            break
        stock, cap = master.duals()
        conv = master.convexity_duals()
        at = (weight * centre[0] + (1 - weight) * stock, weight * centre[1] + (1 - weight) * cap)
        value, pricing = pb.evaluate(at[0], at[1], work - out.work, guard)
        out.work += pricing.work
        out.rounds += 1
        out.history.append(value)
        if value > out.bound:
            out.bound, centre = value, at
        entering = [c for c in pattern_columns(net, t, pb.pricer, pricing)
                    if master.reduced_cost(c, stock, cap, conv) < -PRICING_TOLERANCE]
        if not entering:
            if weight == 0.0:
                out.status = "optimal"
                break
            weight = 0.0  # mispricing: the next round prices at the master's own duals
            continue
        weight = SMOOTHING
        master.add(entering)
        out.status = "work budget spent"
    if master is not None:
        out.columns, out.iterations = master.n_cols, master.iterations
    return out

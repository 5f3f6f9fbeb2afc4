"""Exact per-order pricing: the cheapest whole integer allocation of one order (a *pattern*: which locations ship,
which units each) when the shared stock and parcel slots are charged at given prices.

For stock prices s[l, sku] >= 0 and slot prices k[l] >= 0 (minus the multipliers of those rows), one order's
pattern S (a set of its feasible locations, each line filled from the cheapest units among them) costs

    z(S) = sum_{l in S} F[l] - split [S non-empty and no earlier parcel] + sum_lines fill(line, S)
    F[l] = parcel[l] + split + k[l]
    fill(line, S) = q P + sum over the q cheapest units of the line among S of (pick[l] + s[l, sku] - P)

(P the unfilled penalty; units costing P or more are left unfilled). Every parcel pays its whole cost: that is what
the LP relaxation (x <= m y with a fractional y) does not do. `PatternPricer.price` gives min_S z(S) per order,
exactly, or a lower bound of it where the work ran out (said per order).

Most orders need no search: the best single location U1 (vectorised over all pairs) is optimal when no pattern of
two or more locations can beat it, i.e. when U1 <= F(1) + F(2) - split + fill(every location) (the two smallest
fixed costs and the cheapest possible units: every such pattern costs at least that, F >= 0). The others are
solved one by one by routing/cover.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from routing.cover import OrderPrices, cheapest
from routing.guard import Guard
from routing.network import Network
from routing.pairs import PairTable

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Branch-and-bound nodes per order (only orders with too many coverage states use it).
NODES_PER_ORDER = 400
TOLERANCE = 1e-9


@dataclass
class Pricing:
    """Per order: a lower bound of its cheapest pattern (exact where `exact`), and the best pattern found."""

    value: FloatArray                 # min over patterns of z(S), or a lower bound of it
    exact: npt.NDArray[np.bool_]
    best_cost: FloatArray             # z of the best pattern found (>= value)
    best_pairs: list[list[int]]       # its pairs (indices into the PairTable); [] for nothing shipped
    work: int = 0                     # deterministic work: pairs priced plus the searches' dp transitions and nodes
    searched: int = 0                 # orders that needed a search
    cut: int = 0                      # orders whose search the guard's deadline left out (weaker bound)
    unit: FloatArray | None = None    # unit cost per entry at these prices
    useful: npt.NDArray[np.bool_] | None = None


class PatternPricer:
    """Prices every order's patterns against stock and slot prices; what does not depend on the prices is kept."""

    def __init__(self, net: Network, table: PairTable) -> None:
        self.net, self.t = net, table
        t, p = table, net.params
        rows = t.rows
        self.n_orders = len(net.orders)
        self.penalty = float(p.unfilled_penalty)
        self.split = float(p.split_penalty)
        fresh = np.asarray([od.order.existing_shipments == 0 for od in net.orders], dtype=bool)
        self.split_adj = np.where(fresh, self.split, 0.0)
        qty = rows.line_qty.astype(np.float64)
        self.all_unfilled = np.bincount(rows.line_order, weights=qty * self.penalty, minlength=self.n_orders)
        # A location with no parcel slot at all serves no order in any plan: its pairs are left out.
        cap = np.asarray([np.inf if c is None else float(c) for c in net.capacity])
        self.usable = cap[t.loc] >= 1
        self.pick = np.asarray(net.pick, dtype=np.float64)
        self.entry_loc = t.loc[t.entry_pair]
        self.entry_m = t.entry_m.astype(np.float64)
        self.entry_usable = self.usable[t.entry_pair]
        self.has_pairs = np.bincount(t.order[self.usable], minlength=self.n_orders)

    def price(self, stock_price: FloatArray, slot_price: FloatArray, work: int, guard: Guard | None = None,
              floor: FloatArray | None = None) -> Pricing:
        """Cheapest pattern of every order at these prices (>= 0 each): exact, except for orders whose search
        would pass `work` (deterministic) or the guard's deadline, which get a weaker valid bound (min(U1, LB2)).

        `floor`: other valid lower bounds of the same minima (the LP's shares at its duals); the values are at least
        those, orders whose floor already reaches U1 need no search, and the others are searched in the order of
        what they can add (U1 - the larger bound), so a pass cut short has done the most useful searches first."""
        t, n = self.t, self.n_orders
        unit = self.pick[self.entry_loc] + stock_price[t.entry_stock]
        useful = self.entry_usable & (unit < self.penalty)
        gain = np.where(useful, self.entry_m * (unit - self.penalty), 0.0)
        fixed = t.parcel + self.split + slot_price[t.loc]
        single = np.where(self.usable, fixed + np.bincount(t.entry_pair, weights=gain, minlength=t.size), np.inf)
        # Best single location per order (or nothing at all).
        ranked = np.lexsort((np.arange(t.size), single, t.order))
        first = t.order_start[:-1]
        has = t.order_start[1:] > first
        best_pair = np.full(n, -1, dtype=np.int64)
        best_single = np.full(n, np.inf)
        best_pair[has] = ranked[first[has]]
        best_single[has] = single[best_pair[has]]
        base = self.all_unfilled - self.split_adj
        u1 = np.minimum(self.all_unfilled, base + best_single)
        took_single = base + best_single < self.all_unfilled
        # A lower bound of every pattern with two or more locations.
        by_fixed = np.lexsort((np.arange(t.size), np.where(self.usable, fixed, np.inf), t.order))
        two = self.has_pairs >= 2
        f1 = np.full(n, np.inf)
        f2 = np.full(n, np.inf)
        f1[two] = fixed[by_fixed[first[two]]]
        f2[two] = fixed[by_fixed[first[two] + 1]]
        lb2 = f1 + f2 - self.split_adj + self._fill_all(unit, useful)
        exact = u1 <= lb2 + TOLERANCE
        value = np.where(exact, u1, np.minimum(u1, lb2))
        if floor is not None:
            value = np.maximum(value, floor)
            exact |= value >= u1 - TOLERANCE
        out = Pricing(value, exact, u1.copy(), [[int(best_pair[o])] if took_single[o] else [] for o in range(n)],
                      work=t.size, unit=unit, useful=useful)
        todo = np.flatnonzero(~exact)
        todo = todo[np.lexsort((todo, value[todo] - u1[todo]))]   # most to gain first
        for o in todo.tolist():
            a, b = int(t.order_start[o]), int(t.order_start[o + 1])
            if guard is not None and guard.expired("pattern bound"):
                out.cut += 1
                continue  # keeps min(U1, LB2): valid, weaker
            if out.work + (b - a) * 16 > work:
                continue
            out.searched += 1
            cover = cheapest(self._order_prices(o, unit, useful, fixed), float(u1[o]), NODES_PER_ORDER)
            out.work += cover.work
            out.value[o] = max(float(out.value[o]), cover.lower)
            out.exact[o] = cover.lower >= cover.cost - TOLERANCE
            if cover.cost < out.best_cost[o] - TOLERANCE:
                out.best_cost[o], out.best_pairs[o] = cover.cost, cover.pairs
        return out

    def _order_prices(self, o: int, unit: FloatArray, useful: npt.NDArray[np.bool_], fixed: FloatArray) -> OrderPrices:
        """One order's usable locations, fixed costs and unit costs as dense small arrays."""
        t = self.t
        rows = t.rows
        l0, l1 = int(rows.order_lines[o]), int(rows.order_lines[o + 1])
        a, b = int(t.order_start[o]), int(t.order_start[o + 1])
        pairs = np.arange(a, b, dtype=np.int64)[self.usable[a:b]]
        e0, e1 = int(t.pair_entries[a]), int(t.pair_entries[b])
        e = np.arange(e0, e1)
        e = e[useful[e0:e1]]
        row = np.searchsorted(pairs, t.entry_pair[e])
        col = t.entry_line[e] - l0
        cost = np.zeros((pairs.shape[0], l1 - l0))
        most = np.zeros((pairs.shape[0], l1 - l0))
        cost[row, col] = unit[e]
        most[row, col] = self.entry_m[e]
        nothing = float(self.all_unfilled[o])
        return OrderPrices(pairs, fixed[pairs], cost, most, rows.line_qty[l0:l1], self.penalty,
                           nothing - float(self.split_adj[o]), nothing)

    def _fill_all(self, unit: FloatArray, useful: npt.NDArray[np.bool_]) -> FloatArray:
        """Per order: q P plus the cheapest units of each line from all its locations (a bound of every fill)."""
        t = self.t
        line = t.entry_line
        key = np.where(useful, unit, np.inf)
        order_e = np.lexsort((np.arange(line.shape[0]), key, line))
        ln, m, use, u = line[order_e], self.entry_m[order_e], useful[order_e], unit[order_e]
        m = np.where(use, m, 0.0)
        cum = np.cumsum(m)
        start = np.searchsorted(ln, ln, side="left")
        before = cum - m - np.where(start > 0, cum[np.maximum(start - 1, 0)], 0.0)
        qty = t.rows.line_qty.astype(np.float64)[ln]
        taken = np.clip(qty - before, 0.0, m)
        gain = np.bincount(ln, weights=taken * (u - self.penalty) * use, minlength=t.rows.line_qty.shape[0])
        per_order = np.bincount(t.rows.line_order, weights=gain, minlength=self.n_orders)
        return np.asarray(self.all_unfilled + per_order, dtype=np.float64)

    def units(self, chosen: list[int], unit: FloatArray, useful: npt.NDArray[np.bool_]) -> dict[int, int]:
        """Units per entry of the chosen pairs: each line filled from its cheapest units among them."""
        t = self.t
        by_line: dict[int, list[tuple[float, int, int]]] = {}
        for p in chosen:
            for e in range(int(t.pair_entries[p]), int(t.pair_entries[p + 1])):
                if useful[e]:
                    by_line.setdefault(int(t.entry_line[e]), []).append((float(unit[e]), e, int(t.entry_m[e])))
        units: dict[int, int] = {}
        for ln, entries in by_line.items():
            left = int(t.rows.line_qty[ln])
            for _, e, m in sorted(entries):
                if left == 0:
                    break
                take = min(m, left)
                units[e] = take
                left -= take
        return units

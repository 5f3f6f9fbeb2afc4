"""The batch LP relaxation by column generation on HiGHS, with a Lagrangian lower bound valid at every round.

Master: a few pairs per order. Every other pair is priced from the master's duals in one numpy pass; the
most negative are added and the master re-solved (HiGHS warm-starts from its basis). The bound

    L(duals) = sum_rows rhs * dual + sum_columns upper * min(0, reduced cost)

is computed over *all* pairs (in the master or not) from any dual vector with the right signs, so it is a
valid lower bound of the full relaxation, hence of every plan, whether or not the master is optimal.

Model (docs/routing.md): y[p] parcel of pair p, x[e] units of entry e (pair, sku), u[i] unfilled units of line i,
f[o] order served (so the split penalty is linear). A pair whose location holds one sku of the order is one
column x with y = x / m (still a relaxation: the parcel share is then cost per unit, never more than the parcel).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from highspy import HighsModelStatus, kHighsInf
# The public highspy.Highs prints a banner on stdout when constructed (the CLI may be writing a plan there).
from highspy._core import _Highs

from routing.guard import Guard
from routing.network import Network
from routing.pairs import PairTable

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Pairs per order in the first master: the cheapest single-location options.
INITIAL_PER_ORDER = 2
# Pairs per order added in one pricing round: the most negative reduced costs.
ADD_PER_ORDER = 4
# Reduced costs above -PRICING_TOLERANCE do not enter the master (HiGHS' dual tolerance is 1e-7).
PRICING_TOLERANCE = 1e-6


@dataclass
class Duals:
    """Dual values of the batch rows, with the signs of a minimisation (<= rows non-positive)."""

    line: FloatArray      # demand rows (free)
    stock: FloatArray     # stock rows (<= 0)
    cap: FloatArray       # capacity rows per location (<= 0; 0 for uncapacitated)
    flink: FloatArray     # served-order rows per order (<= 0; 0 for orders with earlier parcels)


@dataclass
class LPResult:
    """Where column generation ended: the best bound, the last master solution and statistics."""

    bound: float | None = None
    objective: float | None = None
    rounds: int = 0
    iterations: int = 0
    columns: int = 0
    pairs_in_master: int = 0
    status: str = "not run"
    seconds: float = 0.0
    # Master pairs (indices into the PairTable), their parcel share y and units per entry of those pairs.
    pairs: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    y: FloatArray = field(default_factory=lambda: np.zeros(0))
    entry_x: dict[int, float] = field(default_factory=dict)
    duals: Duals | None = None
    order_bound: FloatArray | None = None


class Master:
    """The restricted master LP on HiGHS and the pricing of every pair against its duals."""

    def __init__(self, net: Network, table: PairTable) -> None:
        self.net, self.t = net, table
        rows = table.rows
        p = net.params
        self.n_lines = int(rows.line_qty.shape[0])
        self.n_stock = int(rows.stock_avail.shape[0])
        n_orders = len(net.orders)
        self.existing = np.asarray([od.order.existing_shipments for od in net.orders], dtype=np.int64)
        self.offset = float(p.split_penalty * np.maximum(self.existing - 1, 0).sum())
        caps = [c for c in net.capacity]
        self.cap_row = np.full(len(caps), -1, dtype=np.int64)
        self.cap_value = np.zeros(len(caps))
        h = _Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("random_seed", 0)
        self.h = h
        inf = kHighsInf
        # Rows: demand lines (= qty), stock entries (<= usable), capacities (<= parcels), served-order links (<= 0).
        lower = [rows.line_qty.astype(np.float64), np.full(self.n_stock, -inf)]
        upper = [rows.line_qty.astype(np.float64), rows.stock_avail.astype(np.float64)]
        next_row = self.n_lines + self.n_stock
        capped = [i for i, c in enumerate(caps) if c is not None]
        for i in capped:
            self.cap_row[i] = next_row
            self.cap_value[i] = float(caps[i])  # type: ignore[arg-type]
            next_row += 1
        lower.append(np.full(len(capped), -inf))
        upper.append(self.cap_value[capped])
        self.flink_row = np.full(n_orders, -1, dtype=np.int64)
        fresh = np.flatnonzero(self.existing == 0)
        self.flink_row[fresh] = next_row + np.arange(fresh.shape[0])
        next_row += int(fresh.shape[0])
        lower.append(np.full(fresh.shape[0], -inf))
        upper.append(np.zeros(fresh.shape[0]))
        lo, up = np.concatenate(lower), np.concatenate(upper)
        h.addRows(int(lo.shape[0]), lo, up, 0, np.zeros(lo.shape[0], dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))
        self.n_rows = int(lo.shape[0])
        # Columns: unfilled units per line, served flag per fresh order.
        qty = rows.line_qty.astype(np.float64)
        self._add_cols(np.full(self.n_lines, p.unfilled_penalty), np.zeros(self.n_lines), qty,
                       [np.array([i]) for i in range(self.n_lines)], [np.ones(1)] * self.n_lines)
        self._add_cols(np.full(fresh.shape[0], -p.split_penalty), np.zeros(fresh.shape[0]), np.ones(fresh.shape[0]),
                       [np.array([r]) for r in self.flink_row[fresh]], [np.ones(1)] * int(fresh.shape[0]))
        self.n_cols = self.n_lines + int(fresh.shape[0])
        self.in_master = np.zeros(table.size, dtype=bool)
        self.pair_col = np.full(table.size, -1, dtype=np.int64)    # y column, or the x column of a one-entry pair
        self.entry_col: dict[int, int] = {}                         # x column of each entry of a multi-entry pair
        self.master_pairs: list[int] = []
        n_entries = np.diff(table.pair_entries)
        self.one_entry = n_entries == 1
        self.iterations = 0

    def _add_cols(self, cost: FloatArray, lower: FloatArray, upper: FloatArray, index: list[npt.NDArray[np.int64]],
                  value: list[FloatArray]) -> None:
        n = int(cost.shape[0])
        if n == 0:
            return
        sizes = np.fromiter((len(i) for i in index), dtype=np.int64, count=n)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int32)
        idx = np.concatenate(index).astype(np.int32) if n else np.zeros(0, dtype=np.int32)
        val = np.concatenate(value).astype(np.float64) if n else np.zeros(0)
        self.h.addCols(n, cost.astype(np.float64), lower.astype(np.float64), upper.astype(np.float64), int(idx.shape[0]),
                       starts, idx, val)

    def add_pairs(self, pairs: IntArray) -> None:
        """Add the columns (and link rows) of these pairs, which are not in the master yet."""
        t, net = self.t, self.net
        pen_split = net.params.split_penalty
        pairs = np.sort(pairs)
        # Link rows first: one per entry of every multi-entry pair (x[e] - m y <= 0).
        multi = pairs[~self.one_entry[pairs]]
        link_of: dict[int, int] = {}
        link_count = 0
        for p in multi.tolist():
            for e in range(int(t.pair_entries[p]), int(t.pair_entries[p + 1])):
                link_of[e] = self.n_rows + link_count
                link_count += 1
        if link_count:
            self.h.addRows(link_count, np.full(link_count, -kHighsInf), np.zeros(link_count), 0,
                           np.zeros(link_count, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))
            self.n_rows += link_count
        cost: list[float] = []
        upper: list[float] = []
        index: list[npt.NDArray[np.int64]] = []
        value: list[FloatArray] = []
        col = self.n_cols
        pick = net.pick
        for p in pairs.tolist():
            o, loc = int(t.order[p]), int(t.loc[p])
            fixed = float(t.parcel[p]) + pen_split
            cap_r, fl_r = int(self.cap_row[loc]), int(self.flink_row[o])
            e0, e1 = int(t.pair_entries[p]), int(t.pair_entries[p + 1])
            if self.one_entry[p]:
                m = float(t.entry_m[e0])
                rws = [int(t.entry_line[e0]), self.n_lines + int(t.entry_stock[e0])]
                vals = [1.0, 1.0]
                if cap_r >= 0:
                    rws.append(cap_r)
                    vals.append(1.0 / m)
                if fl_r >= 0:
                    rws.append(fl_r)
                    vals.append(-1.0 / m)
                cost.append(pick[loc] + fixed / m)
                upper.append(m)
                index.append(np.asarray(rws))
                value.append(np.asarray(vals))
                self.pair_col[p] = col
                col += 1
            else:
                rws = [link_of[e] for e in range(e0, e1)]
                vals = [-float(t.entry_m[e]) for e in range(e0, e1)]
                if cap_r >= 0:
                    rws.append(cap_r)
                    vals.append(1.0)
                if fl_r >= 0:
                    rws.append(fl_r)
                    vals.append(-1.0)
                cost.append(fixed)
                upper.append(1.0)
                index.append(np.asarray(rws))
                value.append(np.asarray(vals))
                self.pair_col[p] = col
                col += 1
                for e in range(e0, e1):
                    cost.append(pick[loc])
                    upper.append(float(t.entry_m[e]))
                    index.append(np.asarray([int(t.entry_line[e]), self.n_lines + int(t.entry_stock[e]), link_of[e]]))
                    value.append(np.ones(3))
                    self.entry_col[e] = col
                    col += 1
            self.in_master[p] = True
            self.master_pairs.append(p)
        n = col - self.n_cols
        self._add_cols(np.asarray(cost), np.zeros(n), np.asarray(upper), index, value)
        self.n_cols = col

    def solve(self, iteration_limit: int, seconds: float) -> HighsModelStatus:
        """Run HiGHS from the last basis within an iteration budget (deterministic) and the guard's time."""
        self.h.setOptionValue("simplex_iteration_limit", max(1, iteration_limit))
        # HiGHS' time limit is on its own clock, which runs from the object's creation across every run.
        self.h.setOptionValue("time_limit", self.h.getRunTime() + max(0.01, seconds))
        self.h.run()
        self.iterations += max(0, int(self.h.getInfo().simplex_iteration_count))
        return self.h.getModelStatus()

    def duals(self) -> Duals:
        """The current row duals, clipped to the signs every valid dual has."""
        row = np.asarray(self.h.getSolution().row_dual, dtype=np.float64)
        line = row[: self.n_lines]
        stock = np.minimum(0.0, row[self.n_lines: self.n_lines + self.n_stock])
        return Duals(line, stock, _row_duals(row, self.cap_row), _row_duals(row, self.flink_row))

    def reduced_costs(self, d: Duals) -> FloatArray:
        """Reduced cost of every pair (its best use against the duals), in one numpy pass."""
        t, net = self.t, self.net
        pick = np.asarray(net.pick, dtype=np.float64)
        gain = pick[t.loc[t.entry_pair]] - d.line[t.entry_line] - d.stock[t.entry_stock]
        m = t.entry_m.astype(np.float64)
        # Multi-entry pairs: each link row takes the multiplier min(0, gain), so x's reduced cost stays >= 0.
        term = np.where(self.one_entry[t.entry_pair], m * gain, m * np.minimum(0.0, gain))
        units = np.bincount(t.entry_pair, weights=term, minlength=t.size)
        base = t.parcel + net.params.split_penalty - d.cap[t.loc] + d.flink[t.order]
        return np.asarray(base + units, dtype=np.float64)

    def lagrangian(self, d: Duals, rc: FloatArray) -> tuple[float, FloatArray]:
        """L(duals): a lower bound of every plan; also its share per order (resource terms apart)."""
        t, p = self.t, self.net.params
        rows = t.rows
        qty = rows.line_qty.astype(np.float64)
        per_line = qty * d.line + qty * np.minimum(0.0, p.unfilled_penalty - d.line)
        n_orders = len(self.net.orders)
        per_order = np.bincount(rows.line_order, weights=per_line, minlength=n_orders).astype(np.float64)
        fresh = self.flink_row >= 0
        per_order += np.where(fresh, np.minimum(0.0, -p.split_penalty - d.flink), 0.0)
        per_order += np.bincount(t.order, weights=np.minimum(0.0, rc), minlength=n_orders)
        resources = float(rows.stock_avail.astype(np.float64) @ d.stock + self.cap_value @ d.cap)
        return float(per_order.sum()) + resources + self.offset, np.asarray(per_order, dtype=np.float64)

    def entering(self, rc: FloatArray) -> IntArray:
        """Pairs outside the master priced negative: per order the ADD_PER_ORDER most negative."""
        cand = np.flatnonzero((rc < -PRICING_TOLERANCE) & ~self.in_master)
        if cand.shape[0] == 0:
            return cand
        order = self.t.order[cand]
        ranked = cand[np.lexsort((cand, rc[cand], order))]
        o_sorted = self.t.order[ranked]
        first = np.searchsorted(o_sorted, o_sorted, side="left")
        rank = np.arange(ranked.shape[0]) - first
        return np.asarray(ranked[rank < ADD_PER_ORDER], dtype=np.int64)

    def primal(self) -> tuple[IntArray, FloatArray, dict[int, float]]:
        """Master pairs, their parcel share y and the units of their entries."""
        col = np.asarray(self.h.getSolution().col_value, dtype=np.float64)
        pairs = np.asarray(sorted(self.master_pairs), dtype=np.int64)
        t = self.t
        y = np.zeros(pairs.shape[0])
        x: dict[int, float] = {}
        for i, p in enumerate(pairs.tolist()):
            v = float(col[self.pair_col[p]])
            e0, e1 = int(t.pair_entries[p]), int(t.pair_entries[p + 1])
            if self.one_entry[p]:
                m = float(t.entry_m[e0])
                y[i] = v / m
                x[e0] = v
            else:
                y[i] = v
                for e in range(e0, e1):
                    x[e] = float(col[self.entry_col[e]])
        return pairs, y, x


def initial_pairs(net: Network, t: PairTable, per_order: int, extra: IntArray) -> IntArray:
    """The cheapest single-location options of each order (parcel, picking, unfilled rest) and `extra` pairs."""
    units = np.asarray([od.units for od in net.orders], dtype=np.float64)
    pick = np.asarray(net.pick, dtype=np.float64)
    est = t.parcel + pick[t.loc] * t.covered + net.params.unfilled_penalty * (units[t.order] - t.covered)
    ranked = np.lexsort((np.arange(t.size), est, t.order))
    o_sorted = t.order[ranked]
    rank = np.arange(t.size) - np.searchsorted(o_sorted, o_sorted, side="left")
    chosen = ranked[rank < per_order]
    return np.unique(np.concatenate((chosen, extra)).astype(np.int64))


def solve_lp(net: Network, t: PairTable, extra: IntArray, iterations: int, max_rounds: int, guard: Guard) -> LPResult:
    """Column generation within an iteration budget (deterministic); the guard only stops it, and says so."""
    start = time.perf_counter()
    result = LPResult()
    master = Master(net, t)
    master.add_pairs(initial_pairs(net, t, INITIAL_PER_ORDER, extra))
    for rounds in range(1, max_rounds + 1):
        if guard.expired("lp"):
            result.status = "guard fired"
            break
        left = iterations - master.iterations
        if left <= 0:
            result.status = "iteration budget spent"
            break
        status = master.solve(left, guard.left())
        if status == HighsModelStatus.kTimeLimit:
            guard.fire("lp")
            result.status = "guard fired"
            break
        if status == HighsModelStatus.kIterationLimit:
            result.status = "iteration budget spent"
            break
        empty = status == HighsModelStatus.kModelEmpty  # no orders: the empty plan, cost 0, is optimal
        if status != HighsModelStatus.kOptimal and not empty:
            result.status = f"highs {master.h.modelStatusToString(status)}"
            break
        result.rounds = rounds
        d = master.duals()
        rc = master.reduced_costs(d)
        bound, per_order = master.lagrangian(d, rc)
        if result.bound is None or bound > result.bound:
            result.bound, result.duals, result.order_bound = bound, d, per_order
        result.objective = (0.0 if empty else float(master.h.getInfo().objective_function_value)) + master.offset
        result.pairs, result.y, result.entry_x = master.primal()
        new = master.entering(rc)
        if new.shape[0] == 0:
            result.status = "optimal"
            break
        result.status = "round limit"
        master.add_pairs(new)
    result.iterations = master.iterations
    result.columns = master.n_cols
    result.pairs_in_master = len(master.master_pairs)
    result.seconds = time.perf_counter() - start
    return result


def _row_duals(row: FloatArray, rows: IntArray) -> FloatArray:
    """min(0, the dual of each row in `rows`), 0 where it is -1 (no such row in the master yet). Indexes only rows
    that exist: a master without rows (no order line in the instance: HiGHS reports an empty model) has no duals."""
    out = np.zeros(len(rows), dtype=np.float64)
    present = rows >= 0
    out[present] = np.minimum(0.0, row[rows[present]])
    return out

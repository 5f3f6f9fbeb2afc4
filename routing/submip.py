"""A group of orders as an exact MIP on HiGHS, against what the other orders leave: the repair and LNS step.

Same rows as the LP of routing/colgen.py with integer columns; deterministic (one thread, a node limit), the
guard's time only as HiGHS' time limit, reported when it is what stopped the search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from highspy import HighsModelStatus, HighsSolution, HighsVarType, kHighsInf
from highspy._core import _Highs  # the public wrapper prints a banner on stdout (see routing/colgen.py)

from routing.guard import Guard
from routing.network import Arc, Network, OrderAlloc, Resources


@dataclass
class SubResult:
    """Allocations of the group (None without an integer solution), how the search ended, nodes explored."""

    allocs: dict[int, OrderAlloc] | None
    status: str
    nodes: int
    clock_stopped: bool
    # Deterministic work done: columns x (nodes + 1) x (simplex iterations per column, at least 1), a measure of
    # effort that does not depend on the machine's load.
    work: float = 0.0


def solve_group(net: Network, arcs: dict[int, list[Arc]], res: Resources, node_limit: int, guard: Guard,
                hint: dict[int, OrderAlloc] | None = None) -> SubResult:
    """The cheapest allocation of the orders in `arcs` (each on its given arcs) found within `node_limit` nodes."""
    p = net.params
    cost: list[float] = []
    upper: list[float] = []
    col_rows: list[list[int]] = []
    col_vals: list[list[float]] = []
    row_lo: list[float] = []
    row_up: list[float] = []
    stock_row: dict[tuple[int, str], int] = {}
    cap_row: dict[int, int] = {}
    x_cols: list[tuple[int, int, str, int]] = []
    start_values: list[float] = []

    def row(lo: float, up: float) -> int:
        row_lo.append(lo)
        row_up.append(up)
        return len(row_lo) - 1

    def col(c: float, up: float, rows: list[int], vals: list[float], start: float) -> int:
        cost.append(c)
        upper.append(up)
        col_rows.append(rows)
        col_vals.append(vals)
        start_values.append(start)
        return len(cost) - 1

    hint = hint or {}
    for o in sorted(arcs):
        od = net.orders[o]
        given = hint.get(o, {})
        demand_row = {s: row(float(q), float(q)) for s, q in od.demand.items()}
        flink = row(-kHighsInf, 0.0) if od.order.existing_shipments == 0 else -1
        ys: list[int] = []
        for a in arcs[o]:
            if res.cap_left[a.loc] < 1:
                continue
            lines = {s: min(q, res.avail.get((a.loc, s), 0)) for s, q in od.demand.items()}
            lines = {s: m for s, m in lines.items() if m > 0}
            if not lines:
                continue
            links = {s: row(-kHighsInf, 0.0) for s in lines}
            rows = list(links.values())
            vals = [-float(m) for m in lines.values()]
            if net.capacity[a.loc] is not None:
                r = cap_row.get(a.loc)
                if r is None:
                    r = cap_row[a.loc] = row(-kHighsInf, float(res.cap_left[a.loc]))
                rows.append(r)
                vals.append(1.0)
            if flink >= 0:
                rows.append(flink)
                vals.append(-1.0)
            ys.append(col(a.parcel + p.split_penalty, 1.0, rows, vals, 1.0 if a.loc in given else 0.0))
            for s, m in lines.items():
                sr = stock_row.get((a.loc, s))
                if sr is None:
                    sr = stock_row[(a.loc, s)] = row(-kHighsInf, float(res.avail.get((a.loc, s), 0)))
                c = col(net.pick[a.loc], float(m), [demand_row[s], sr, links[s]], [1.0, 1.0, 1.0],
                        float(given.get(a.loc, {}).get(s, 0)))
                x_cols.append((o, a.loc, s, c))
        shipped = {s: sum(lines.get(s, 0) for lines in given.values()) for s in od.demand}
        for s, q in od.demand.items():
            col(p.unfilled_penalty, float(q), [demand_row[s]], [1.0], float(max(0, q - shipped[s])))
        if flink >= 0:
            col(-p.split_penalty, 1.0, [flink], [1.0], 1.0 if given else 0.0)
    h = _Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("mip_max_nodes", max(1, node_limit))
    h.setOptionValue("mip_rel_gap", 1e-9)
    h.setOptionValue("time_limit", max(0.01, guard.left()))
    n_rows = len(row_lo)
    h.addRows(n_rows, np.asarray(row_lo), np.asarray(row_up), 0, np.zeros(n_rows, dtype=np.int32),
              np.zeros(0, dtype=np.int32), np.zeros(0))
    sizes = np.fromiter((len(r) for r in col_rows), dtype=np.int64, count=len(col_rows))
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int32)
    index = np.fromiter((i for r in col_rows for i in r), dtype=np.int32, count=int(sizes.sum()))
    value = np.fromiter((v for vs in col_vals for v in vs), dtype=np.float64, count=int(sizes.sum()))
    n = len(cost)
    h.addCols(n, np.asarray(cost), np.zeros(n), np.asarray(upper), int(index.shape[0]), starts, index, value)
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.full(n, HighsVarType.kInteger))
    if hint:
        h.setSolution(_solution(h, start_values))
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    nodes = int(info.mip_node_count)
    work = float(n) * (nodes + 1) + float(max(0, info.simplex_iteration_count))
    clock = status == HighsModelStatus.kTimeLimit
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        return SubResult(None, h.modelStatusToString(status).lower(), nodes, clock, work)
    values = h.getSolution().col_value
    allocs: dict[int, OrderAlloc] = {o: {} for o in arcs}
    for o, loc, s, c in x_cols:
        units = round(values[c])
        if units > 0:
            allocs[o].setdefault(loc, {})[s] = units
    return SubResult(allocs, h.modelStatusToString(status).lower(), nodes, clock, work)


def _solution(h: _Highs, values: list[float]) -> HighsSolution:
    """A HighsSolution holding a complete starting point (the current plan of the group)."""
    sol = HighsSolution()
    sol.col_value = values
    sol.value_valid = True
    return sol

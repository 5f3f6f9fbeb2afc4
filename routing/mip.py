"""The batch model as a CP-SAT integer program over chosen arcs and what is left of stock and capacity."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ortools.sat.python import cp_model

from routing.deadline import run_until
from routing.network import Arc, Network, OrderAlloc, Resources

# CP-SAT wants integer objective coefficients: money in 1/10,000ths.
SCALE = 10_000
DETERMINISTIC_SHARE = 0.15


@dataclass
class MipResult:
    """Allocations per order (None when no solution in time) and how the solve ended."""

    allocs: dict[int, OrderAlloc] | None
    status: str
    bound: float | None
    seconds: float
    # Whether the wall clock (not the deterministic budget) ended the solve: the answer then depends on load.
    clock_stopped: bool = False
    work: float = 0.0


def solve_mip(net: Network, arcs: dict[int, list[Arc]], res: Resources, deadline: float, seed: int = 0,
              workers: int = 2, hint: dict[int, OrderAlloc] | None = None, deterministic: bool = True,
              drain: float = 0.0, work: float | None = None) -> MipResult:
    """Solve the orders in `arcs` jointly against `res`; gives up at `deadline` (perf_counter).

    `work` is CP-SAT's deterministic-time budget (the answer then depends on the seed and workers only, unless
    the deadline comes first: `clock_stopped` says so). Without it, `deterministic` takes a share of the time left.
    `drain` > 0 then waits up to that long for the abandoned solver to exit, so it stops competing
    for the cores (benchmarks); the result still counts only what was there at the deadline.
    """
    start = time.perf_counter()
    p = net.params
    m = cp_model.CpModel()
    obj: list[Any] = []
    y: dict[tuple[int, int], Any] = {}
    x: dict[tuple[int, int, str], Any] = {}
    by_stock: dict[tuple[int, str], list[Any]] = {}
    by_loc: dict[int, list[Any]] = {}
    for o, order_arcs in arcs.items():
        od = net.orders[o]
        ys = []
        for a in order_arcs:
            if res.cap_left[a.loc] < 1:
                continue
            lines = {s: min(q, res.avail.get((a.loc, s), 0)) for s, q in od.demand.items()}
            lines = {s: n for s, n in lines.items() if n > 0}
            if not lines:
                continue
            yv = m.new_bool_var("")
            y[(o, a.loc)] = yv
            ys.append(yv)
            by_loc.setdefault(a.loc, []).append(yv)
            obj.append(round((a.parcel + p.split_penalty) * SCALE) * yv)
            for s, n in lines.items():
                xv = m.new_int_var(0, n, "")
                x[(o, a.loc, s)] = xv
                m.add(xv <= n * yv)
                by_stock.setdefault((a.loc, s), []).append(xv)
                obj.append(round(net.pick[a.loc] * SCALE) * xv)
        for s, q in od.demand.items():
            u = m.new_int_var(0, q, "")
            m.add(sum(x[(o, a.loc, s)] for a in order_arcs if (o, a.loc, s) in x) + u == q)
            obj.append(round(p.unfilled_penalty * SCALE) * u)
        if od.order.existing_shipments == 0 and ys:
            f = m.new_bool_var("")
            m.add(f <= sum(ys))
            obj.append(-round(p.split_penalty * SCALE) * f)
    for (loc, s), xs in by_stock.items():
        m.add(sum(xs) <= res.avail.get((loc, s), 0))
    for loc, ys_at in by_loc.items():
        if res.cap_left[loc] < len(ys_at):
            m.add(sum(ys_at) <= int(res.cap_left[loc]))
    m.minimize(sum(obj))
    if hint:
        for (o, loc), yv in y.items():
            m.add_hint(yv, loc in hint.get(o, {}))
        for (o, loc, s), xv in x.items():
            m.add_hint(xv, hint.get(o, {}).get(loc, {}).get(s, 0))
    solver = cp_model.CpSolver()
    # The solver's own limit ends before the guard's, which only fires if the solver overruns.
    left = max(0.01, (deadline - time.perf_counter()) * 0.9 - 0.05)
    solver.parameters.max_time_in_seconds = left
    if work is not None:
        solver.parameters.max_deterministic_time = work
        solver.parameters.interleave_search = workers > 1
    elif deterministic:
        # Deterministic time keeps the answer independent of machine load (about seconds on one core).
        # A small share of the wall budget in deterministic time, so it (not the load-dependent clock) normally
        # binds: at 0.25 the clock sometimes bound first at 300 x 40 and the plan changed between runs.
        solver.parameters.max_deterministic_time = left * DETERMINISTIC_SHARE
        solver.parameters.interleave_search = workers > 1
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    outcome = run_until(lambda: solver.solve(m), deadline, solver.stop_search)
    seconds = time.perf_counter() - start
    if not outcome.finished or outcome.value is None:
        if drain > 0:
            outcome.done.wait(drain)
        return MipResult(None, "abandoned at deadline", None, seconds, True, 0.0)
    status = outcome.value
    spent = solver.deterministic_time
    clock = solver.wall_time >= 0.98 * left and (work is None or spent < 0.98 * work)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # With no solution CP-SAT still reports the bound it proved (UNKNOWN), not after INFEASIBLE.
        proved = solver.best_objective_bound / SCALE if status == cp_model.UNKNOWN else None
        return MipResult(None, solver.status_name(status).lower(), proved, seconds, clock, spent)
    allocs: dict[int, OrderAlloc] = {o: {} for o in arcs}
    for (o, loc, s), xv in x.items():
        n = solver.value(xv)
        if n > 0:
            allocs[o].setdefault(loc, {})[s] = n
    bound = solver.best_objective_bound / SCALE
    return MipResult(allocs, solver.status_name(status).lower(), bound, seconds, clock, spent)

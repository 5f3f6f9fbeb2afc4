"""The whole batch as one MIP, with no decomposition: the plain-MIP baseline the benchmarks compare against."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ortools.linear_solver import pywraplp

from routing.deadline import run_until
from routing.lp import BatchLP
from routing.mip import solve_mip
from routing.network import Network, OrderAlloc, Resources
from routing.plan import allocations_cost

# After the solver's own limit, how long the wall-clock guard waits before interrupting it.
GUARD_GRACE = 1.0
# How long to wait for an abandoned solver to exit, so it does not slow down whatever runs next.
DRAIN_SECONDS = 60.0


@dataclass(frozen=True)
class PlainResult:
    """What a plain MIP reached in its time: a plan's cost (None: no solution in time) and its own bound."""

    backend: str
    status: str
    cost: float | None
    bound: float | None
    seconds: float
    allocs: list[OrderAlloc] | None = None

    @property
    def found(self) -> bool:
        """Whether the MIP produced any feasible plan within its time."""
        return self.cost is not None


def solve_plain(net: Network, seconds: float, backend: str = "SCIP", seed: int = 0, workers: int = 2) -> PlainResult:
    """Every order on every feasible arc in one model, solved by SCIP (pywraplp) or CP-SAT for `seconds`."""
    start = time.perf_counter()
    if backend == "CP-SAT":
        arcs = {o: list(od.arcs) for o, od in enumerate(net.orders)}
        mip = solve_mip(net, arcs, Resources(net), start + seconds, seed=seed, workers=workers, deterministic=False,
                        drain=DRAIN_SECONDS)
        if mip.allocs is None:
            return PlainResult(backend, mip.status, None, mip.bound, time.perf_counter() - start)
        chosen = [mip.allocs.get(o, {}) for o in range(len(net.orders))]
        return PlainResult(backend, mip.status, allocations_cost(net, chosen), mip.bound, time.perf_counter() - start, chosen)
    model = BatchLP(net, backend, integer=True)
    for o, od in enumerate(net.orders):
        for arc in od.arcs:
            model.add_arc(o, arc)
    solver = model.solver
    # SCIP runs on one thread here: with SetNumThreads(2) it once returned a worse plan marked optimal
    # (measured at 300 x 60); `workers` is for CP-SAT.
    left = max(0.01, start + seconds - time.perf_counter())
    solver.SetTimeLimit(max(1, int(left * 1000)))
    outcome = run_until(solver.Solve, start + seconds + GUARD_GRACE, solver.InterruptSolve)
    elapsed = time.perf_counter() - start
    if not outcome.finished or outcome.value is None:
        outcome.done.wait(DRAIN_SECONDS)
        return PlainResult(backend, "abandoned at deadline", None, None, elapsed)
    status = int(outcome.value)
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        named = {pywraplp.Solver.NOT_SOLVED: "no solution", pywraplp.Solver.ABNORMAL: "interrupted, no solution",
                 pywraplp.Solver.INFEASIBLE: "infeasible"}
        return PlainResult(backend, named.get(status, f"status {status}"), None, None, elapsed)
    allocs: list[OrderAlloc] = [{} for _ in net.orders]
    for (o, loc, sku), var in model.x.items():
        n = round(var.solution_value())
        if n > 0:
            allocs[o].setdefault(loc, {})[sku] = n
    bound = solver.Objective().BestBound() + model.offset
    name = "optimal" if status == pywraplp.Solver.OPTIMAL else "feasible"
    return PlainResult(backend, name, allocations_cost(net, allocs), bound, elapsed, allocs)

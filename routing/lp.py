"""LP relaxation of the batch model on candidate arcs, priced against every feasible arc: a proven lower bound."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ortools.linear_solver import pywraplp

from routing.network import Arc, Network

# Reduced costs above this are treated as non-negative (GLOP's own tolerances are ~1e-7).
PRICING_TOLERANCE = 1e-6
# New arcs per order added in one pricing round (the most negative reduced costs first).
ARCS_PER_ROUND = 4


@dataclass
class LPResult:
    """Outcome of the relaxation: bound (when pricing proved it), fractional solution, statistics."""

    bound: float | None
    objective: float | None
    y: dict[tuple[int, int], float] = field(default_factory=dict)
    x: dict[tuple[int, int, str], float] = field(default_factory=dict)
    rounds: int = 0
    arcs: int = 0
    seconds: float = 0.0
    status: str = "not run"


class BatchLP:
    """The relaxation: y[o,l] parcel from l to o, x[o,l,s] units, u[o,s] unfilled, f[o] order served.

    With `integer=True` (and a MIP backend such as "SCIP") the same rows and columns form the exact
    batch MIP: the benchmark's plain-MIP baseline.
    """

    def __init__(self, net: Network, backend: str = "GLOP", integer: bool = False) -> None:
        self.net = net
        self.integer = integer
        self.solver: Any = pywraplp.Solver.CreateSolver(backend)
        if self.solver is None:
            raise RuntimeError(f"OR-Tools has no {backend} backend in this build")
        self.inf = self.solver.infinity()
        p = net.params
        self.obj = self.solver.Objective()
        self.obj.SetMinimization()
        self.offset = 0.0
        self.demand_row: dict[tuple[int, str], Any] = {}
        self.stock_row: dict[tuple[int, str], Any] = {}
        self.cap_row: dict[int, Any] = {}
        self.flink_row: dict[int, Any] = {}
        # y[o, l] = (column, divisor): the parcel variable is column / divisor.
        self.y: dict[tuple[int, int], tuple[Any, float]] = {}
        self.x: dict[tuple[int, int, str], Any] = {}
        self.in_model: list[set[int]] = [set() for _ in net.orders]
        for o, od in enumerate(net.orders):
            for sku, q in od.demand.items():
                row = self.solver.Constraint(q, q)
                u = self._var(q)
                row.SetCoefficient(u, 1.0)
                self.obj.SetCoefficient(u, p.unfilled_penalty)
                self.demand_row[(o, sku)] = row
            existing = od.order.existing_shipments
            if existing == 0:
                f = self._var(1.0)
                self.obj.SetCoefficient(f, -p.split_penalty)
                row = self.solver.Constraint(-self.inf, 0.0)
                row.SetCoefficient(f, 1.0)
                self.flink_row[o] = row
            else:
                self.offset += p.split_penalty * (existing - 1)

    def _var(self, upper: float) -> Any:
        """A column in [0, upper]: integer in the MIP form, continuous in the relaxation."""
        return self.solver.IntVar(0.0, upper, "") if self.integer else self.solver.NumVar(0.0, upper, "")

    def add_arc(self, o: int, arc: Arc) -> None:
        """Add the columns and rows of one (order, location) arc."""
        net, s = self.net, self.solver
        od = net.orders[o]
        l = arc.loc
        self.in_model[o].add(l)
        fixed_cost = arc.parcel + net.params.split_penalty
        cap_row = None
        capacity = net.capacity[l]
        if capacity is not None:
            cap_row = self.cap_row.get(l)
            if cap_row is None:
                cap_row = self.cap_row[l] = s.Constraint(-self.inf, float(capacity))
        lines = {sku: min(q, net.avail.get((l, sku), 0)) for sku, q in od.demand.items()}
        lines = {sku: m for sku, m in lines.items() if m > 0}
        if len(od.demand) == 1 and not self.integer:
            # One sku: at an optimum y = x / m, so one column x carries the parcel share and no link row
            # is needed (the LP keeps its value; a third of the rows go away).
            ((sku, m),) = lines.items()
            x = s.NumVar(0.0, float(m), "")
            self.x[(o, l, sku)] = x
            self.y[(o, l)] = (x, float(m))
            self.obj.SetCoefficient(x, net.pick[l] + fixed_cost / m)
            if o in self.flink_row:
                self.flink_row[o].SetCoefficient(x, -1.0 / m)
            if cap_row is not None:
                cap_row.SetCoefficient(x, 1.0 / m)
            self.demand_row[(o, sku)].SetCoefficient(x, 1.0)
            self._stock(l, sku).SetCoefficient(x, 1.0)
            return
        y = self._var(1.0)
        self.y[(o, l)] = (y, 1.0)
        self.obj.SetCoefficient(y, fixed_cost)
        if o in self.flink_row:
            self.flink_row[o].SetCoefficient(y, -1.0)
        if cap_row is not None:
            cap_row.SetCoefficient(y, 1.0)
        for sku, m in lines.items():
            x = self._var(float(m)) if self.integer else s.NumVar(0.0, self.inf, "")
            self.x[(o, l, sku)] = x
            self.obj.SetCoefficient(x, net.pick[l])
            self.demand_row[(o, sku)].SetCoefficient(x, 1.0)
            self._stock(l, sku).SetCoefficient(x, 1.0)
            link = s.Constraint(-self.inf, 0.0)
            link.SetCoefficient(x, 1.0)
            link.SetCoefficient(y, -float(m))

    def _stock(self, l: int, sku: str) -> Any:
        row = self.stock_row.get((l, sku))
        if row is None:
            row = self.stock_row[(l, sku)] = self.solver.Constraint(-self.inf, float(self.net.avail[(l, sku)]))
        return row

    def price(self) -> tuple[list[tuple[int, Arc]], float]:
        """Arcs outside the model with negative reduced cost, and the sum of all those reduced costs.

        Extending the restricted dual to every arc (the new link rows get the multiplier that keeps
        their x columns dual feasible, each y <= 1 bound takes min(0, reduced cost)) shows that
        restricted optimum + that sum is a lower bound of the full relaxation, hence of any plan.
        """
        net = self.net
        split = net.params.split_penalty
        kappa = {l: row.dual_value() for l, row in self.cap_row.items()}
        sigma = {k: row.dual_value() for k, row in self.stock_row.items()}
        found: list[tuple[int, Arc]] = []
        total = 0.0
        for o, od in enumerate(net.orders):
            alpha = {sku: self.demand_row[(o, sku)].dual_value() for sku in od.demand}
            rho = self.flink_row[o].dual_value() if o in self.flink_row else 0.0
            inside = self.in_model[o]
            best: list[tuple[float, int, Arc]] = []
            terms: list[tuple[float, list[tuple[int, float]]]] = []
            for arc in od.arcs:
                l = arc.loc
                if l in inside:
                    continue
                pick = net.pick[l]
                base = arc.parcel + split - kappa.get(l, 0.0) + rho
                rc = base
                units: list[tuple[int, float]] = []
                for sku, q in od.demand.items():
                    have = net.avail.get((l, sku), 0)
                    if have > 0:
                        gain = pick - alpha[sku] - sigma.get((l, sku), 0.0)
                        units.append((min(q, have), gain))
                        if gain < 0:
                            rc += min(q, have) * gain
                if rc < 0:
                    terms.append((base, units))
                if rc < -PRICING_TOLERANCE:
                    best.append((rc, l, arc))
            total += _order_bound_loss(terms, od.units)
            best.sort(key=lambda t: (t[0], t[1]))
            found.extend((o, arc) for _, _, arc in best[:ARCS_PER_ROUND])
        return found, total

    def solve(self, seconds: float) -> int:
        """Solve under a time limit; the pywraplp status code."""
        self.solver.SetTimeLimit(max(1, int(seconds * 1000)))
        return int(self.solver.Solve())


def _order_bound_loss(terms: list[tuple[float, list[tuple[int, float]]]], units: int) -> float:
    """Best bound correction for one order's priced-out arcs.

    Lowering the order's demand duals by delta keeps every modelled column dual feasible, costs
    delta * units in the dual objective and raises each outside arc's reduced cost; try a few deltas.
    """
    if not terms:
        return 0.0

    def loss(delta: float) -> float:
        total = -delta * units
        for base, lines in terms:
            rc = base + sum(m * min(0.0, g + delta) for m, g in lines)
            total += min(0.0, rc)
        return total

    worst = min(min(g for _, g in lines) for _, lines in terms if lines) if any(lines for _, lines in terms) else 0.0
    deltas = [0.0] + [-worst * f for f in (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)]
    return max(loss(d) for d in deltas)


def candidate_arcs(net: Network, per_order: int, per_sku: int) -> list[list[Arc]]:
    """Arcs worth modelling up front: cheapest single-location options and cheapest holders of each sku."""
    pen = net.params.unfilled_penalty
    out = []
    for od in net.orders:
        scored = []
        for a in od.arcs:
            covered = sum(min(q, net.avail.get((a.loc, s), 0)) for s, q in od.demand.items())
            scored.append((a.parcel + net.pick[a.loc] * covered + pen * (od.units - covered), a.loc, a))
        scored.sort(key=lambda t: (t[0], t[1]))
        chosen = {a.loc: a for _, _, a in scored[:per_order]}
        for sku in od.demand:
            holders = [a for a in od.arcs if net.avail.get((a.loc, sku), 0) > 0]
            for a in holders[:per_sku]:  # arcs are sorted by parcel cost
                chosen[a.loc] = a
        out.append(sorted(chosen.values(), key=lambda a: a.loc))
    return out


def solve_lp(net: Network, candidates: list[list[Arc]], deadline: float, max_rounds: int = 6) -> LPResult:
    """Relaxation with column generation; the bound is valid after every round, exact once nothing prices out."""
    start = time.perf_counter()
    lp = BatchLP(net)
    for o, arcs in enumerate(candidates):
        for a in arcs:
            lp.add_arc(o, a)
    result = LPResult(None, None)
    last = 0.0
    for rounds in range(1, max_rounds + 1):
        left = deadline - time.perf_counter()
        if left <= 0.05 or (rounds > 1 and left < 1.5 * last):
            result.status = "time limit" if rounds == 1 else result.status
            break
        began = time.perf_counter()
        status = lp.solve(left)
        last = time.perf_counter() - began
        if status != pywraplp.Solver.OPTIMAL:
            result.status = "time limit" if time.perf_counter() >= deadline else f"status {status}"
            break
        result.rounds = rounds
        result.objective = lp.solver.Objective().Value() + lp.offset
        new, negative = lp.price()
        bound = result.objective + negative
        if result.bound is None or bound > result.bound:
            result.bound = bound
        result.y = {k: v.solution_value() / d for k, (v, d) in lp.y.items()}
        result.x = {k: v.solution_value() for k, v in lp.x.items()}
        if not new:
            result.status = "optimal"
            break
        result.status = "bound from pricing"
        for o, arc in new:
            lp.add_arc(o, arc)
    result.arcs = len(lp.y)
    result.seconds = time.perf_counter() - start
    return result

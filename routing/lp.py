"""The batch model's rows and columns in pywraplp, one arc at a time: the plain-MIP baseline (SCIP) of the benchmarks.

The optimiser's own LP is routing/colgen.py (HiGHS, column generation, batch-built).
"""

from __future__ import annotations

from typing import Any

from ortools.linear_solver import pywraplp

from routing.network import Arc, Network

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

    def solve(self, seconds: float) -> int:
        """Solve under a time limit; the pywraplp status code."""
        self.solver.SetTimeLimit(max(1, int(seconds * 1000)))
        return int(self.solver.Solve())


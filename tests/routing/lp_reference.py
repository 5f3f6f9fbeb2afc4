"""The batch LP of docs/routing.md solved whole, as a reference for the bounds' tests."""

from __future__ import annotations

from typing import Any

from ortools.linear_solver import pywraplp

from routing.network import Network


def full_lp(net: Network) -> float:
    """The relaxation of docs/routing.md over every feasible pair at once, on GLOP: no column generation, no
    numpy pairs, the arcs as Network.compile lists them."""
    p = net.params
    s = pywraplp.Solver.CreateSolver("GLOP")
    inf = s.infinity()
    obj = s.Objective()
    obj.SetMinimization()
    offset = 0.0
    demand: dict[tuple[int, str], Any] = {}
    stock: dict[tuple[int, str], Any] = {}
    cap: dict[int, Any] = {}
    for o, od in enumerate(net.orders):
        for sku, q in od.demand.items():
            demand[(o, sku)] = row = s.Constraint(q, q)
            u = s.NumVar(0, q, "")
            row.SetCoefficient(u, 1)
            obj.SetCoefficient(u, p.unfilled_penalty)
        flink = None
        if od.order.existing_shipments == 0:
            f = s.NumVar(0, 1, "")
            obj.SetCoefficient(f, -p.split_penalty)
            flink = s.Constraint(-inf, 0)
            flink.SetCoefficient(f, 1)
        else:
            offset += p.split_penalty * (od.order.existing_shipments - 1)
        for arc in od.arcs:
            lines = {sku: min(q, net.avail.get((arc.loc, sku), 0)) for sku, q in od.demand.items()}
            lines = {sku: m for sku, m in lines.items() if m > 0}
            capacity = net.capacity[arc.loc]
            if capacity is not None and arc.loc not in cap:
                cap[arc.loc] = s.Constraint(-inf, capacity)
            fixed = arc.parcel + p.split_penalty
            if len(lines) == 1:  # y = x / m: the parcel's cost shared per unit
                ((sku, m),) = lines.items()
                x = s.NumVar(0, m, "")
                obj.SetCoefficient(x, net.pick[arc.loc] + fixed / m)
                demand[(o, sku)].SetCoefficient(x, 1)
                stock.setdefault((arc.loc, sku), s.Constraint(-inf, net.avail[(arc.loc, sku)])).SetCoefficient(x, 1)
                if capacity is not None:
                    cap[arc.loc].SetCoefficient(x, 1 / m)
                if flink is not None:
                    flink.SetCoefficient(x, -1 / m)
                continue
            y = s.NumVar(0, 1, "")
            obj.SetCoefficient(y, fixed)
            if capacity is not None:
                cap[arc.loc].SetCoefficient(y, 1)
            if flink is not None:
                flink.SetCoefficient(y, -1)
            for sku, m in lines.items():
                x = s.NumVar(0, inf, "")
                obj.SetCoefficient(x, net.pick[arc.loc])
                demand[(o, sku)].SetCoefficient(x, 1)
                stock.setdefault((arc.loc, sku), s.Constraint(-inf, net.avail[(arc.loc, sku)])).SetCoefficient(x, 1)
                link = s.Constraint(-inf, 0)
                link.SetCoefficient(x, 1)
                link.SetCoefficient(y, -m)
    assert s.Solve() == pywraplp.Solver.OPTIMAL
    return float(obj.Value()) + offset

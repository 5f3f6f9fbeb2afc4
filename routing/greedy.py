"""The rule-engine baseline: orders one by one, whole order from the cheapest location able to, else cover most."""

from __future__ import annotations

import time
from dataclasses import replace

from routing.model import Instance, Plan, SolverInfo
from routing.network import Network, OrderAlloc, OrderData, Resources
from routing.plan import build_plan
from routing.route import usable_arcs


def greedy_order(net: Network, od: OrderData, res: Resources) -> OrderAlloc:
    """Route one order the way ranked-rule engines do, taking from `res`."""
    arcs = usable_arcs(od, res)
    units = od.units
    whole = [
        a for a in arcs
        if all(res.avail.get((a.loc, s), 0) >= q for s, q in od.demand.items())
    ]
    if whole:
        a = min(whole, key=lambda a: (a.parcel + net.pick[a.loc] * units, a.loc))
        alloc: OrderAlloc = {a.loc: dict(od.demand)}
        res.take(alloc)
        return alloc
    left = dict(od.demand)
    alloc = {}
    while any(left.values()):
        best = None
        for a in arcs:
            if a.loc in alloc or res.cap_left[a.loc] < 1:
                continue
            covered = sum(min(q, res.avail.get((a.loc, s), 0)) for s, q in left.items())
            if covered == 0:
                continue
            key = (-covered, a.parcel + net.pick[a.loc] * covered, a.loc)
            if best is None or key < best[0]:
                best = (key, a)
        if best is None:
            break
        loc = best[1].loc
        lines = {}
        for s, q in left.items():
            n = min(q, res.avail.get((loc, s), 0))
            if n > 0:
                lines[s] = n
        for s, n in lines.items():
            left[s] -= n
        step = {loc: lines}
        res.take(step)
        alloc[loc] = lines
    return alloc


def greedy_allocations(net: Network, res: Resources | None = None) -> list[OrderAlloc]:
    """Greedy allocations of every order of the network, in input (first come, first served) order."""
    res = Resources(net) if res is None else res
    return [greedy_order(net, od, res) for od in net.orders]


def solve_greedy(instance: Instance, network: Network | None = None, explanations: bool = False) -> Plan:
    """The greedy baseline plan."""
    start = time.perf_counter()
    net = network or Network(instance)
    allocs = greedy_allocations(net)
    plan = build_plan(net, allocs, SolverInfo("greedy", time.perf_counter() - start, "heuristic"), None)
    if explanations:
        from routing.explain import explain  # explanations are optional work after solving

        plan = replace(plan, explanations=explain(net, allocs))
    return plan

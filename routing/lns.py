"""Large-neighbourhood search: free the orders the bound says are worst and those competing with them, re-solve
them jointly as an exact MIP (HiGHS, a node limit) against what the others leave, keep the answer when cheaper."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from routing.colgen import LPResult
from routing.guard import Guard
from routing.network import Arc, Network, OrderAlloc, Resources
from routing.pairs import PairTable
from routing.route import alloc_cost
from routing.submip import solve_group

# Orders freed per neighbourhood, and the cheapest pairs of each offered to CP-SAT besides its current ones.
NEIGHBOURHOOD = 40
ARCS_PER_ORDER = 6
# Locations around the worst order whose orders are freed with it.
LOCATIONS_AROUND = 4
# Times the neighbourhoods double after a pass that saved nothing.
MAX_GROWTH = 2
# Branch-and-bound nodes per neighbourhood (most are solved at the root).
STEP_NODES = 200
COST_TOLERANCE = 1e-9


@dataclass
class LnsStats:
    """What the search did: neighbourhoods tried, improved, branch-and-bound nodes and cost saved."""

    steps: int = 0
    improved: int = 0
    nodes: int = 0
    work: float = 0.0
    saved: float = 0.0


def order_gaps(net: Network, t: PairTable, lp: LPResult, allocs: list[OrderAlloc]) -> np.ndarray:
    """Per order: its cost in the plan, the stock and parcels it uses priced at the LP's duals, minus its share of
    the Lagrangian bound. They add up (with the value of unused resources) to cost - bound: the worst come first."""
    n = len(net.orders)
    gaps = np.zeros(n)
    if lp.duals is None or lp.order_bound is None:
        return gaps
    d, share, index = lp.duals, lp.order_bound, t.rows.stock_index
    for o, (od, alloc) in enumerate(zip(net.orders, allocs)):
        priced = alloc_cost(net, od, alloc)
        for loc, lines in alloc.items():  # the duals are <= 0: what the order uses is charged to it
            priced -= float(d.cap[loc])
            for sku, q in lines.items():
                priced -= q * float(d.stock[index[(loc, sku)]])
        gaps[o] = priced - float(share[o])
    return gaps


def _cheapest(net: Network, t: PairTable, o: int, k: int) -> list[int]:
    """Locations of the k cheapest single-location options of order o (parcel, picking, unfilled rest)."""
    a, b = int(t.order_start[o]), int(t.order_start[o + 1])
    if a == b:
        return []
    units = net.orders[o].units
    locs = t.loc[a:b]
    est = t.parcel[a:b] + np.asarray(net.pick)[locs] * t.covered[a:b] + net.params.unfilled_penalty * (units - t.covered[a:b])
    ranked = np.lexsort((locs, est))[:k]
    return [int(x) for x in locs[ranked]]


def improve(net: Network, t: PairTable, lp: LPResult, allocs: list[OrderAlloc], res: Resources, work: float,
            guard: Guard) -> LnsStats:
    """Neighbourhood after neighbourhood, worst orders first, until `work` (see SubResult.work) is spent.

    A pass visits every order with a positive gap once; after a pass that saved nothing the neighbourhoods
    double (more orders, more locations each), up to MAX_GROWTH times; a pass at full size that saves nothing ends it.
    """
    stats = LnsStats()
    at: dict[int, set[int]] = {}
    for o, alloc in enumerate(allocs):
        for loc in alloc:
            at.setdefault(loc, set()).add(o)
    in_lp: dict[int, set[int]] = {}
    for p, y in zip(lp.pairs.tolist(), lp.y.tolist()):
        if y > 1e-6:
            in_lp.setdefault(int(t.order[p]), set()).add(int(t.loc[p]))
    arcs_of: list[dict[int, Arc] | None] = [None] * len(net.orders)
    growth = 0
    while stats.work < work and not guard.expired("lns"):
        size, per_order = NEIGHBOURHOOD << growth, ARCS_PER_ORDER + 4 * growth
        gaps = order_gaps(net, t, lp, allocs)
        seeds = [int(o) for o in np.lexsort((np.arange(len(gaps)), -gaps)) if gaps[o] > 1e-6]
        done: set[int] = set()
        saved_in_pass = 0.0
        for o in seeds:
            if stats.work >= work or guard.expired("lns"):
                break
            if o in done:
                continue
            around = set(_cheapest(net, t, o, LOCATIONS_AROUND + growth)) | set(allocs[o])
            others = sorted({v for loc in around for v in at.get(loc, ()) if v != o}, key=lambda v: (-gaps[v], v))
            hood = [o] + others[: size - 1]
            done.update(hood)
            arcs: dict[int, list[Arc]] = {}
            for v in hood:
                by_loc = arcs_of[v]
                if by_loc is None:
                    by_loc = arcs_of[v] = {a.loc: a for a in net.orders[v].arcs}
                wanted = set(_cheapest(net, t, v, per_order)) | set(allocs[v]) | in_lp.get(v, set())
                arcs[v] = [by_loc[loc] for loc in sorted(wanted) if loc in by_loc]
            saved = _step(net, allocs, res, at, hood, arcs, guard, stats)
            saved_in_pass += saved
        if saved_in_pass <= COST_TOLERANCE:
            if growth >= MAX_GROWTH:
                break
            growth += 1
    return stats


def _step(net: Network, allocs: list[OrderAlloc], res: Resources, at: dict[int, set[int]], hood: list[int],
          arcs: dict[int, list[Arc]], guard: Guard, stats: LnsStats) -> float:
    """Re-solve one neighbourhood; keep the answer when it is cheaper. The cost saved."""
    before = sum(alloc_cost(net, net.orders[v], allocs[v]) for v in hood)
    for v in hood:
        res.give(allocs[v])
    mip = solve_group(net, arcs, res, STEP_NODES, guard, {v: allocs[v] for v in hood})
    stats.steps += 1
    stats.nodes += mip.nodes
    stats.work += mip.work
    if mip.clock_stopped:
        guard.fire("lns")
    new = mip.allocs
    after = sum(alloc_cost(net, net.orders[v], new.get(v, {})) for v in hood) if new is not None else before
    if new is not None and after < before - COST_TOLERANCE and _take_all(res, [new.get(v, {}) for v in hood]):
        for v in hood:
            for loc in allocs[v]:
                at[loc].discard(v)
            allocs[v] = new.get(v, {})
            for loc in allocs[v]:
                at.setdefault(loc, set()).add(v)
        stats.improved += 1
        stats.saved += before - after
        return before - after
    for v in hood:
        res.take(allocs[v])
    return 0.0


def _take_all(res: Resources, allocs: list[OrderAlloc]) -> bool:
    """Take every allocation, or none of them when one does not fit."""
    taken: list[OrderAlloc] = []
    for alloc in allocs:
        if not res.fits(alloc):
            for back in taken:
                res.give(back)
            return False
        res.take(alloc)
        taken.append(alloc)
    return True

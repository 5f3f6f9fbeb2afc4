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
# Branch-and-bound nodes per neighbourhood (most are solved at the root).
STEP_NODES = 200
COST_TOLERANCE = 1e-9


@dataclass
class LnsStats:
    """What the search did: neighbourhoods tried, improved, branch-and-bound nodes and cost saved."""

    steps: int = 0
    improved: int = 0
    nodes: int = 0
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
        for loc, lines in alloc.items():
            priced += float(d.cap[loc])
            for sku, q in lines.items():
                priced += q * float(d.stock[index[(loc, sku)]])
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


def improve(net: Network, t: PairTable, lp: LPResult, allocs: list[OrderAlloc], res: Resources, max_steps: int,
            guard: Guard) -> LnsStats:
    """Neighbourhood after neighbourhood, worst orders first, at most `max_steps` of them (deterministic)."""
    stats = LnsStats()
    gaps = order_gaps(net, t, lp, allocs)
    seeds = [int(o) for o in np.lexsort((np.arange(len(gaps)), -gaps)) if gaps[o] > 1e-6]
    at: dict[int, set[int]] = {}
    for o, alloc in enumerate(allocs):
        for loc in alloc:
            at.setdefault(loc, set()).add(o)
    arcs_of = [None] * len(net.orders)  # type: list[dict[int, Arc] | None]
    done: set[int] = set()
    for o in seeds:
        if stats.steps >= max_steps or guard.expired("lns"):
            break
        if o in done:
            continue
        around = set(_cheapest(net, t, o, LOCATIONS_AROUND)) | set(allocs[o])
        others = sorted({v for loc in around for v in at.get(loc, ()) if v != o}, key=lambda v: (-gaps[v], v))
        hood = [o] + others[: NEIGHBOURHOOD - 1]
        done.update(hood)
        arcs: dict[int, list[Arc]] = {}
        for v in hood:
            by_loc = arcs_of[v]
            if by_loc is None:
                by_loc = arcs_of[v] = {a.loc: a for a in net.orders[v].arcs}
            wanted = set(_cheapest(net, t, v, ARCS_PER_ORDER)) | set(allocs[v])
            arcs[v] = [by_loc[loc] for loc in sorted(wanted) if loc in by_loc]
        before = sum(alloc_cost(net, net.orders[v], allocs[v]) for v in hood)
        for v in hood:
            res.give(allocs[v])
        mip = solve_group(net, arcs, res, STEP_NODES, guard, {v: allocs[v] for v in hood})
        stats.steps += 1
        stats.nodes += mip.nodes
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
        else:
            for v in hood:
                res.take(allocs[v])
    return stats


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

"""Split shipments: which ones stock forces, and consolidation of the others when it does not cost more."""

from __future__ import annotations

import time
from dataclasses import dataclass

from routing.network import Arc, Network, OrderAlloc, OrderData, Resources
from routing.route import alloc_cost, best_route

# Orders moved out of a location to make room for one split order, at most.
MAX_VICTIMS = 3
COST_TOLERANCE = 1e-9


def whole_sources(net: Network, od: OrderData, res: Resources | None = None) -> list[Arc]:
    """Feasible locations that could ship the whole order in one parcel from `res` (default: all usable stock)."""
    avail = net.avail if res is None else res.avail
    out = []
    for a in od.arcs:
        cap = net.capacity[a.loc] if res is None else res.cap_left[a.loc]
        if cap is not None and cap < 1:
            continue
        if all(avail.get((a.loc, sku), 0) >= q for sku, q in od.demand.items()):
            out.append(a)
    return out


def forced_split_orders(net: Network) -> set[int]:
    """Orders no single feasible location can serve whole, even before any other order takes stock."""
    return {o for o, od in enumerate(net.orders) if not whole_sources(net, od)}


@dataclass(frozen=True)
class SplitSummary:
    """Split orders of a set of allocations, separated into forced by stock and avoidable."""

    split: int
    forced: int
    avoidable: int


def split_summary(net: Network, allocs: list[OrderAlloc], forced: set[int] | None = None) -> SplitSummary:
    """How many orders ship in several parcels, and how many of those a single location could have served whole."""
    forced = forced_split_orders(net) if forced is None else forced
    split = {o for o, alloc in enumerate(allocs) if len(alloc) > 1}
    return SplitSummary(len(split), len(split & forced), len(split - forced))


class _Parcels:
    """Which orders ship from each location, kept in step with the allocations."""

    def __init__(self, allocs: list[OrderAlloc]) -> None:
        self.at: dict[int, set[int]] = {}
        for o, alloc in enumerate(allocs):
            self.add(o, alloc)

    def add(self, o: int, alloc: OrderAlloc) -> None:
        for loc in alloc:
            self.at.setdefault(loc, set()).add(o)

    def remove(self, o: int, alloc: OrderAlloc) -> None:
        for loc in alloc:
            self.at[loc].discard(o)


def _victims(allocs: list[OrderAlloc], parcels: _Parcels, o: int, loc: int, short: dict[str, int],
             cap_short: bool) -> list[int] | None:
    """Orders to move away from `loc` so that it has `short` more units and, if needed, one more parcel."""
    holders = []
    for v in sorted(parcels.at.get(loc, ())):
        lines = allocs[v][loc]
        if v == o:
            continue
        freed = sum(min(lines.get(s, 0), n) for s, n in short.items())
        if freed > 0 or (cap_short and not short):
            holders.append((-freed, v))
    holders.sort()
    chosen: list[int] = []
    need = dict(short)
    for _, v in holders:
        if not any(need.values()) and (chosen or not cap_short):
            break
        lines = allocs[v][loc]
        if any(need.values()) and not any(lines.get(s, 0) > 0 and n > 0 for s, n in need.items()):
            continue
        chosen.append(v)
        for s in need:
            need[s] = max(0, need[s] - lines.get(s, 0))
    if any(need.values()) or (cap_short and not chosen) or len(chosen) > MAX_VICTIMS:
        return None
    return chosen


def _try_whole(net: Network, allocs: list[OrderAlloc], parcels: _Parcels, res: Resources, o: int, arc: Arc,
               before: float) -> bool:
    """Serve order `o` (already given back to `res`) whole from `arc`, re-routing the orders in the way.

    Kept when the total cost of the orders involved falls, or stays equal with fewer split orders;
    otherwise everything is put back as it was.
    """
    od = net.orders[o]
    short = {s: q - res.avail.get((arc.loc, s), 0) for s, q in od.demand.items() if res.avail.get((arc.loc, s), 0) < q}
    victims = _victims(allocs, parcels, o, arc.loc, short, res.cap_left[arc.loc] < 1)
    if victims is None:
        return False
    old_cost = before + sum(alloc_cost(net, net.orders[v], allocs[v]) for v in victims)
    old_splits = 1 + sum(len(allocs[v]) > 1 for v in victims)
    for v in victims:
        res.give(allocs[v])
    whole: OrderAlloc = {arc.loc: dict(od.demand)}
    if not res.fits(whole):
        for v in victims:
            res.take(allocs[v])
        return False
    res.take(whole)
    moved: dict[int, OrderAlloc] = {}
    new_cost = alloc_cost(net, od, whole)
    for v in victims:
        cost, alloc = best_route(net, net.orders[v], res)
        res.take(alloc)
        moved[v] = alloc
        new_cost += cost
    new_splits = sum(len(a) > 1 for a in moved.values())
    if new_cost < old_cost - COST_TOLERANCE or (new_cost <= old_cost + COST_TOLERANCE and new_splits < old_splits):
        for v, alloc in [(o, whole), *moved.items()]:
            parcels.remove(v, allocs[v])
            allocs[v] = alloc
            parcels.add(v, alloc)
        return True
    for alloc in moved.values():
        res.give(alloc)
    res.give(whole)
    for v in victims:
        res.take(allocs[v])
    return False


def consolidate(net: Network, allocs: list[OrderAlloc], res: Resources, deadline: float,
                forced: set[int] | None = None) -> int:
    """Serve avoidable split orders whole by moving the orders holding the stock they lack; never raises the cost.

    `res` must hold what `allocs` leave; both are updated. Returns the number of orders consolidated.
    """
    forced = forced_split_orders(net) if forced is None else forced
    parcels = _Parcels(allocs)
    done = 0
    for o in range(len(allocs)):
        if len(allocs[o]) < 2 or o in forced:
            continue
        if time.perf_counter() > deadline:
            break
        od = net.orders[o]
        current = allocs[o]
        before = alloc_cost(net, od, current)
        res.give(current)
        # Cheapest parcel first: the first move that is kept is the one made.
        for arc in whole_sources(net, od):
            if _try_whole(net, allocs, parcels, res, o, arc, before):
                done += 1
                break
        else:
            res.take(current)
    return done

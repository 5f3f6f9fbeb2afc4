"""The best way to serve one order from what is left: single location, pairs, then greedy extension."""

from __future__ import annotations

from itertools import combinations

from routing.cost import order_cost, split_cost
from routing.network import Arc, Network, OrderAlloc, OrderData, Resources

# Pairs are enumerated among this many best single-location options (by cost including unfilled units).
PAIR_CANDIDATES = 10


def alloc_cost(net: Network, od: OrderData, alloc: OrderAlloc) -> float:
    """Cost of one order under `alloc` (parcels, picking, split and unfilled penalties)."""
    parcel: dict[int, float] = {}
    if alloc:
        for a in od.arcs:  # cheapest parcel first: the chosen locations come early, stop when all are found
            if a.loc in alloc:
                parcel[a.loc] = a.parcel
                if len(parcel) == len(alloc):
                    break
    shipped = sum(sum(lines.values()) for lines in alloc.values())
    parcels = [(parcel[loc], net.pick[loc], sum(lines.values())) for loc, lines in alloc.items()]
    return order_cost(net.params, parcels, od.units - shipped, od.order.existing_shipments)


def _fill(net: Network, od: OrderData, res: Resources, arcs: list[Arc]) -> tuple[float, OrderAlloc]:
    """Allocate each sku from the given locations, lowest pick cost first; drop locations left empty."""
    order_by_pick = sorted(arcs, key=lambda a: (net.pick[a.loc], a.parcel, a.loc))
    alloc: OrderAlloc = {}
    for sku, qty in od.demand.items():
        left = qty
        for a in order_by_pick:
            if left == 0:
                break
            have = res.avail.get((a.loc, sku), 0)
            if have > 0:
                n = min(have, left)
                alloc.setdefault(a.loc, {})[sku] = n
                left -= n
    return alloc_cost(net, od, alloc), alloc


def usable_arcs(od: OrderData, res: Resources, forbid: frozenset[int] = frozenset()) -> list[Arc]:
    """Arcs whose location still has parcel capacity and some of the order's skus."""
    out = []
    avail, cap_left, skus = res.avail, res.cap_left, tuple(od.demand)
    for a in od.arcs:
        loc = a.loc
        if cap_left[loc] < 1 or loc in forbid:
            continue
        for sku in skus:
            if avail.get((loc, sku), 0) > 0:
                out.append(a)
                break
    return out


def best_route(net: Network, od: OrderData, res: Resources, forbid: frozenset[int] = frozenset()) -> tuple[float, OrderAlloc]:
    """Cheapest allocation found for one order against `res` (exact over one- and two-location plans)."""
    best: OrderAlloc = {}
    best_cost = alloc_cost(net, od, best)
    arcs = usable_arcs(od, res, forbid)
    if not arcs:
        return best_cost, best
    singles: list[tuple[float, int, Arc, int]] = []
    p = net.params
    first = split_cost(p, 1, od.order.existing_shipments)
    best_single: Arc | None = None
    avail, demand, pick, units = res.avail, tuple(od.demand.items()), net.pick, od.units
    for a in arcs:
        loc = a.loc
        covered = 0
        for s, q in demand:  # a loop, not sum() over a generator: this runs for every location of every quote
            have = avail.get((loc, s), 0)
            covered += q if have >= q else have
        # Same figure as alloc_cost of the one-location allocation, without building it.
        cost = a.parcel + pick[loc] * covered + p.unfilled_penalty * (units - covered) + first
        singles.append((cost, a.loc, a, covered))
        if cost < best_cost - 1e-12:
            best_cost, best_single = cost, a
    if best_single is not None:
        best_cost, best = _fill(net, od, res, [best_single])
    if len(od.demand) == 1 and singles and max(s[3] for s in singles) == od.units:
        return best_cost, best  # one sku, one location covers it: a split can only add cost
    singles.sort(key=lambda s: (s[0], s[1]))
    top = [s[2] for s in singles[:PAIR_CANDIDATES]]
    params = p
    floor = 2 * min(a.parcel for a in top) + params.split_penalty
    for a, b in combinations(top, 2):
        if a.parcel + b.parcel + params.split_penalty >= best_cost or floor >= best_cost:
            continue
        cost, alloc = _fill(net, od, res, [a, b])
        if len(alloc) == 2 and cost < best_cost - 1e-12:
            best_cost, best = cost, alloc
    # Orders needing three or more locations: extend greedily while it pays.
    chosen = [net_arc for net_arc in top if net_arc.loc in best]
    while sum(sum(v.values()) for v in best.values()) < od.units and len(chosen) < len(od.demand):
        step_cost, step, step_arc = best_cost, best, None
        for a in arcs:
            if a.loc in best:
                continue
            cost, alloc = _fill(net, od, res, chosen + [a])
            if cost < step_cost - 1e-12:
                step_cost, step, step_arc = cost, alloc, a
        if step_arc is None:
            break
        best_cost, best = step_cost, step
        chosen = [a for a in arcs if a.loc in best]
    return best_cost, best

"""Why each order went where it went: chosen plan, best alternative and its extra cost, binding constraints."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from routing.cost import destination, legs
from routing.network import Network, OrderAlloc, Resources
from routing.route import alloc_cost, best_route

# How many locations nearer than the chosen one are examined for what stopped them.
NEARER_EXAMINED = 3


def _reason(net: Network, res: Resources, on_hand: dict[tuple[int, str], tuple[int, int]], loc: int,
            demand: dict[str, int], days: int, promise: int | None, excluded: bool) -> str | None:
    """The first constraint that stops `loc` from serving the whole order, or None."""
    if excluded:
        return "excluded"
    if promise is not None and days > promise:
        return "promise date"
    if res.cap_left[loc] < 1:
        return "capacity full"
    for sku, q in demand.items():
        have, safety = on_hand.get((loc, sku), (0, 0))
        if have < q:
            return "no stock"
        if have - safety < q:
            return "safety stock"
        if res.avail.get((loc, sku), 0) < q:
            return "stock taken by other orders"
    return None


def explain(net: Network, allocs: list[OrderAlloc], deadline: float | None = None) -> dict[str, dict[str, Any]]:
    """One explanation per order of the network, against the stock and capacity the plan leaves.

    Past `deadline` (perf_counter) the remaining orders get only their chosen locations and cost, with
    `"skipped": "time limit"` instead of the alternative and the binding constraints.
    """
    res = Resources(net)
    res.take_all(allocs)
    on_hand = {(net.index[s.location], s.sku): (s.on_hand, s.safety) for s in net.instance.stock}
    out: dict[str, dict[str, Any]] = {}
    for od, alloc in zip(net.orders, allocs):
        order = od.order
        cost = alloc_cost(net, od, alloc)
        entry: dict[str, Any] = {
            "chosen": sorted(net.loc_id(loc) for loc in alloc),
            "cost": round(cost, 6),
        }
        if deadline is not None and time.perf_counter() > deadline:
            entry["skipped"] = "time limit"
            out[order.id] = entry
            continue
        res.give(alloc)
        alt_cost, alt = best_route(net, od, res, frozenset(alloc))
        if alloc and alt:
            entry["alternative"] = {"locations": sorted(net.loc_id(loc) for loc in alt),
                                    "cost": round(alt_cost, 6), "extra_cost": round(alt_cost - cost, 6)}
        else:
            entry["alternative"] = None
        # Locations with a cheaper parcel than the dearest chosen one: what kept the order from them?
        dest = destination(order, net.by_id)
        parcel, days = legs(net.params, net.locations, order, dest, net.lat, net.lon, net.handling)
        limit = max((float(parcel[loc]) for loc in alloc), default=float("inf"))
        # In numpy: a Python loop over every location of every order was most of the explanations' time.
        cheaper = np.flatnonzero(parcel < limit)
        if alloc:
            cheaper = cheaper[~np.isin(cheaper, np.fromiter(alloc, dtype=np.int64, count=len(alloc)))]
        first = cheaper[np.lexsort((cheaper, parcel[cheaper]))][: NEARER_EXAMINED]
        nearer = [(float(parcel[i]), int(i)) for i in first]
        binding: list[dict[str, str | None]] = []
        for _, loc in nearer[:NEARER_EXAMINED]:
            why = _reason(net, res, on_hand, loc, od.demand, int(days[loc]), order.promise_days, net.loc_id(loc) in order.exclude_locations)
            if why is not None:
                binding.append({"location": net.loc_id(loc), "constraint": why})
        if not alloc:
            binding.append({"location": None, "constraint": "no stock" if not od.arcs else "capacity full"})
        entry["binding"] = binding
        res.take(alloc)
        out[order.id] = entry
    return out

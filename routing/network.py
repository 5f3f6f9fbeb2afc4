"""An instance compiled for solving: location index, stock net of safety, feasible arcs per order, resources."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from routing.cost import available_stock, destination, legs
from routing.model import Instance, Location, Order, Params, StockItem


class Arc(NamedTuple):
    """A location that may serve an order: in time, not excluded, holding at least one of its skus. A named tuple:
    1.6 M of them are made at 20,000 x 1,000, and a frozen dataclass costs five times as much to build."""

    loc: int
    parcel: float
    days: int


@dataclass(frozen=True, slots=True)
class OrderData:
    """An order with its merged demand and its feasible arcs, cheapest parcel first."""

    order: Order
    demand: dict[str, int]
    arcs: tuple[Arc, ...]

    @property
    def units(self) -> int:
        """Units ordered."""
        return sum(self.demand.values())


class Network:
    """Locations, usable stock and, for each order, the locations that may serve it."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.params: Params = instance.params
        self.locations: list[Location] = list(instance.locations)
        self.index = {loc.id: i for i, loc in enumerate(self.locations)}
        self.by_id = {loc.id: loc for loc in self.locations}
        self.pick = [loc.pick_cost_per_unit for loc in self.locations]
        self.capacity = [loc.capacity for loc in self.locations]
        self.lat = np.array([loc.lat for loc in self.locations], dtype=np.float64)
        self.lon = np.array([loc.lon for loc in self.locations], dtype=np.float64)
        self.handling = np.array([loc.handling_days for loc in self.locations], dtype=np.int64)
        self.avail: dict[tuple[int, str], int] = {
            (self.index[loc], sku): qty for (loc, sku), qty in available_stock(instance).items()
        }
        holders: dict[str, list[int]] = {}
        for (loc_i, sku) in sorted(self.avail):
            holders.setdefault(sku, []).append(loc_i)
        self.holders = holders
        self.orders = [self.compile(order) for order in instance.orders]
        self.order_index = {od.order.id: i for i, od in enumerate(self.orders)}

    def restocked(self, capacity: Mapping[str, int], stock: Sequence[StockItem]) -> Network:
        """This network with other parcel capacities (location id -> parcels left; locations not named keep theirs)
        and other stock, and no orders: a real-time state for one request, without redoing what depends only on the
        locations (their index and coordinate arrays). Stock at a location outside the network is ignored."""
        changed: dict[int, Location] = {}
        for loc_id, cap in capacity.items():
            i = self.index.get(loc_id)
            if i is not None and self.locations[i].capacity != cap:
                loc = self.locations[i]
                changed[i] = Location(loc.id, loc.kind, loc.lat, loc.lon, cap, loc.pick_cost_per_unit, loc.handling_days)
        index = self.index
        kept = tuple(s for s in stock if s.location in index)
        other = copy.copy(self)
        other.instance = self.instance.restocked(changed, kept)
        if changed:
            other.locations = list(other.instance.locations)
            other.by_id = dict(self.by_id)
            other.capacity = list(self.capacity)
            for i, loc in changed.items():
                other.by_id[loc.id] = loc
                other.capacity[i] = loc.capacity
        other.avail = {(index[s.location], s.sku): s.available for s in kept if s.available > 0}
        holders: dict[str, list[int]] = {}
        for (loc_i, sku) in sorted(other.avail):
            holders.setdefault(sku, []).append(loc_i)
        other.holders = holders
        other.orders = []
        other.order_index = {}
        return other

    def compile(self, order: Order) -> OrderData:
        """Demand and feasible arcs of one order (also used for orders arriving in real time)."""
        demand = order.demand()
        cand: set[int] = set()
        for sku in demand:
            cand.update(self.holders.get(sku, ()))
        if order.exclude_locations:
            cand -= {self.index[x] for x in order.exclude_locations if x in self.index}
        if not cand:
            return OrderData(order, demand, ())
        idx = np.fromiter(sorted(cand), dtype=np.int64, count=len(cand))
        dest = destination(order, self.by_id)
        # The locations themselves only matter for a pickup (the store's own parcel costs nothing).
        sub = [self.locations[i] for i in idx.tolist()] if order.pickup_at is not None else []
        cost, days = legs(self.params, sub, order, dest, self.lat[idx], self.lon[idx], self.handling[idx])
        if order.promise_days is not None:
            keep = days <= order.promise_days
            idx, cost, days = idx[keep], cost[keep], days[keep]
        by_cost = np.lexsort((idx, cost))  # cheapest parcel first, then location index
        # Plain Python numbers: converting numpy scalars one by one costs more than the routing that follows.
        arcs = tuple(map(Arc, idx[by_cost].tolist(), cost[by_cost].tolist(), days[by_cost].tolist()))
        return OrderData(order, demand, arcs)

    def loc_id(self, loc: int) -> str:
        """Location id of an index."""
        return self.locations[loc].id


# Allocation of one order: location index -> sku -> units.
OrderAlloc = dict[int, dict[str, int]]


class Resources:
    """What is left to give: stock per (location, sku) and parcels per location."""

    def __init__(self, network: Network) -> None:
        self.avail: dict[tuple[int, str], int] = dict(network.avail)
        self.cap_left: list[float] = [float("inf") if c is None else float(c) for c in network.capacity]

    def copy(self) -> Resources:
        """An independent copy."""
        other = Resources.__new__(Resources)
        other.avail = dict(self.avail)
        other.cap_left = list(self.cap_left)
        return other

    def fits(self, alloc: OrderAlloc) -> bool:
        """Whether `alloc` can be taken from what is left."""
        for loc, lines in alloc.items():
            if self.cap_left[loc] < 1:
                return False
            for sku, qty in lines.items():
                if self.avail.get((loc, sku), 0) < qty:
                    return False
        return True

    def take(self, alloc: OrderAlloc) -> None:
        """Reserve the stock and parcels of `alloc` (caller checked `fits`)."""
        for loc, lines in alloc.items():
            self.cap_left[loc] -= 1
            for sku, qty in lines.items():
                self.avail[(loc, sku)] = self.avail.get((loc, sku), 0) - qty

    def give(self, alloc: OrderAlloc) -> None:
        """Return the stock and parcels of `alloc`."""
        for loc, lines in alloc.items():
            self.cap_left[loc] += 1
            for sku, qty in lines.items():
                self.avail[(loc, sku)] = self.avail.get((loc, sku), 0) + qty

    def take_all(self, allocs: Iterable[OrderAlloc]) -> None:
        """Reserve several allocations."""
        for alloc in allocs:
            self.take(alloc)

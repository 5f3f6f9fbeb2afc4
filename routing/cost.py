"""The cost model of docs/formats/routing.md, in one place: distance, transit, parcel, shipment, order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from routing.model import Instance, Location, Order, Params

EARTH_RADIUS_KM = 6371.0

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def haversine_km(lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike) -> FloatArray:
    """Great-circle distance in km (Earth radius 6371.0); broadcasts over numpy arrays."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))), dtype=np.float64)


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance between two (lat, lon) points."""
    return float(haversine_km(a[0], a[1], b[0], b[1]))


def transit_days(params: Params, km: npt.ArrayLike) -> IntArray:
    """Transit days for a distance: the first [km_max, days] pair with distance <= km_max."""
    dist = np.asarray(km, dtype=np.float64)
    days = np.full(dist.shape, params.transit_days[-1][1], dtype=np.int64)
    decided = np.zeros(dist.shape, dtype=bool)
    for km_max, d in params.transit_days:
        hit = ~decided if km_max is None else (~decided & (dist <= km_max))
        days[hit] = d
        decided |= hit
    # Beyond the last finite limit (a table without a null pair) the last pair's days apply.
    return days


def destination(order: Order, locations: dict[str, Location]) -> tuple[float, float]:
    """Where the order's parcels go: ship_to, or the coordinates of its pickup store."""
    if order.ship_to is not None:
        return order.ship_to
    assert order.pickup_at is not None
    store = locations[order.pickup_at]
    return (store.lat, store.lon)


@dataclass(frozen=True, slots=True)
class Leg:
    """What a parcel from one location to one order's destination costs and takes (picking aside)."""

    parcel_cost: float
    delivery_days: int
    distance_km: float

    def in_time(self, order: Order) -> bool:
        """Whether this parcel keeps the order's promise (hard limit)."""
        return order.promise_days is None or self.delivery_days <= order.promise_days


def own_pickup(order: Order, location: Location) -> bool:
    """A pickup order served by its own pickup store: no parcel cost, no transit."""
    return order.pickup_at is not None and order.pickup_at == location.id


def leg(params: Params, location: Location, order: Order, dest: tuple[float, float]) -> Leg:
    """The parcel cost and delivery days from `location` to `order` (scalar form of `legs`)."""
    km = distance_km((location.lat, location.lon), dest)
    if own_pickup(order, location):
        return Leg(0.0, location.handling_days, km)
    days = int(transit_days(params, km))
    return Leg(params.parcel_base_cost + params.cost_per_km * km, location.handling_days + days, km)


def legs(params: Params, locations: list[Location], order: Order, dest: tuple[float, float],
         lat: FloatArray, lon: FloatArray, handling: IntArray) -> tuple[FloatArray, IntArray]:
    """Vectorised `leg` over all locations (arrays of their lat, lon, handling days): parcel costs, days."""
    km = haversine_km(lat, lon, dest[0], dest[1])
    cost = params.parcel_base_cost + params.cost_per_km * km
    days = handling + transit_days(params, km)
    if order.pickup_at is not None:
        for i, loc in enumerate(locations):
            if loc.id == order.pickup_at:
                cost[i] = 0.0
                days[i] = loc.handling_days
    return cost, days


def shipment_cost(parcel_cost: float, pick_cost_per_unit: float, units: int) -> float:
    """Cost of one parcel: its parcel cost plus picking of its units."""
    return parcel_cost + pick_cost_per_unit * units


def split_cost(params: Params, shipments: int, existing: int = 0) -> float:
    """Split penalty of an order with `shipments` parcels (plus `existing` ones kept from before)."""
    n = shipments + existing
    return params.split_penalty * (n - 1) if n >= 1 else 0.0


def unfilled_cost(params: Params, units: int) -> float:
    """Penalty for units no shipment covers."""
    return params.unfilled_penalty * units


def available_stock(instance: Instance) -> dict[tuple[str, str], int]:
    """Units the router may use per (location, sku): max(0, on_hand - safety)."""
    return {(s.location, s.sku): s.available for s in instance.stock if s.available > 0}


def order_cost(params: Params, parcels: Iterable[tuple[float, float, int]], unfilled_units: int, existing: int = 0) -> float:
    """Cost of one order from its parcels as (parcel_cost, pick_cost_per_unit, units) and its unfilled units."""
    parcels = list(parcels)
    total = sum(shipment_cost(p, k, u) for p, k, u in parcels)
    return total + split_cost(params, len(parcels), existing) + unfilled_cost(params, unfilled_units)

"""Availability to promise, exact at the moment of asking: one query over stock levels, the active locations from the
process's location index (checked against the database in the same request: fulfil.locations.index).

The one stock rule (fulfil.stock.rules.available: on hand - reserved - safety, never below 0) per location; the
network figure (what delivery can draw on) is the sum over every active location; buckets follow
fulfil.stock.rules.bucket. Reserved units include checkout holds, so a unit held for one customer is not shown to
the next.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from fulfil.availability import repository
from fulfil.availability.schemas import AvailabilityQuery, Near
from fulfil.catalog import repository as catalog
from fulfil.errors import NotFound
from fulfil.locations.index import LocationIndex, Place, Snapshot
from fulfil.stock.rules import available, bucket
from routing.cost import haversine_km


def query(session: Session, data: AvailabilityQuery, limited_max: int, index: LocationIndex) -> list[dict[str, Any]]:
    """Availability of each GTIN asked (in the order asked, each once), network-wide and per location, shaped as
    ProductAvailability. Plain dicts: a GTIN held at 1,000 stores is 1,000 rows per answer, and building a model
    per row would cost more than the query."""
    gtins = list(dict.fromkeys(data.gtins))
    missing = catalog.missing(session, set(gtins))
    if missing:
        raise NotFound(
            "unknown products", details=[{"field": "gtins", "message": f"unknown product {g}"} for g in gtins if g in missing]
        )
    places = index.current(session)
    shown = _shown_locations(places, data.location_ids, data.near)
    per_gtin: dict[str, dict[str, int]] = defaultdict(dict)
    network: dict[str, int] = defaultdict(int)
    active = places.by_id
    for location_id, gtin, on_hand, reserved, safety in repository.levels(session, gtins):
        if location_id in active:
            units = available(on_hand, reserved, safety)
            network[gtin] += units
            per_gtin[gtin][location_id] = units
    out = []
    for gtin in gtins:
        listed = [(active[loc], None) for loc in per_gtin[gtin]] if shown is None else shown
        rows = []
        for place, dist in listed:
            units = per_gtin[gtin].get(place.id, 0)
            rows.append({
                "location_id": place.id, "name": place.name, "kind": place.kind.value, "pickup": place.store, "available": units,
                "bucket": bucket(units, limited_max), "distance_km": None if dist is None else round(dist, 3),
            })
        out.append({"gtin": gtin, "network": {"available": network[gtin], "bucket": bucket(network[gtin], limited_max)}, "locations": rows})
    return out


def _shown_locations(places: Snapshot, location_ids: Sequence[str] | None, near: Near | None) -> list[tuple[Place, float | None]] | None:
    """The locations to list for every GTIN (None: those holding it): the ones named (404 naming any unknown or
    inactive), or the active stores near a point, nearest first."""
    chosen: list[tuple[Place, float | None]] | None = None
    if location_ids is not None:
        wanted = list(dict.fromkeys(location_ids))
        unknown = [x for x in wanted if x not in places.by_id]
        if unknown:
            raise NotFound(
                "unknown or inactive locations", details=[{"field": "location_ids", "message": f"unknown or inactive location {x}"} for x in unknown]
            )
        chosen = [(places.by_id[x], None) for x in wanted]
    if near is not None:
        if chosen is not None:
            return _within([p for p, _ in chosen], near.lat, near.lon, near.radius_km)
        return nearest_stores(places, near.lat, near.lon, near.radius_km)
    return chosen


def nearest_stores(places: Snapshot, lat: float, lon: float, radius_km: float) -> list[tuple[Place, float | None]]:
    """The active stores within `radius_km` of a point, nearest first (ties by id), with their distance."""
    if not places.stores:
        return []
    km = haversine_km(lat, lon, places.store_lat, places.store_lon)
    inside = np.flatnonzero(km <= radius_km)
    found: list[tuple[Place, float | None]] = [(places.stores[i], float(km[i])) for i in inside.tolist()]
    return sorted(found, key=lambda pair: (pair[1] or 0.0, pair[0].id))


def _within(candidates: Sequence[Place], lat: float, lon: float, radius_km: float) -> list[tuple[Place, float | None]]:
    """The candidates within `radius_km` of a point, nearest first (ties by id), with their distance."""
    if not candidates:
        return []
    km = haversine_km(lat, lon, [p.lat for p in candidates], [p.lon for p in candidates])
    inside: list[tuple[Place, float | None]] = [(p, float(d)) for p, d in zip(candidates, km) if d <= radius_km]
    return sorted(inside, key=lambda pair: (pair[1] or 0.0, pair[0].id))

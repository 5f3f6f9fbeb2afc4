"""Availability to promise, exact at the moment of asking: one query over stock levels of active locations.

The one stock rule (fulfil.stock.rules.available: on hand - reserved - safety, never below 0) per location; the
network figure (what delivery can draw on) is the sum over every active location; buckets follow
fulfil.stock.rules.bucket. Reserved units include checkout holds, so a unit held for one customer is not shown to
the next.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from fulfil.availability import repository
from fulfil.availability.schemas import AvailabilityQuery, Near
from fulfil.catalog import repository as catalog
from fulfil.errors import NotFound
from fulfil.models import Location, LocationKind
from fulfil.stock.rules import available, bucket
from routing.cost import haversine_km


def query(session: Session, data: AvailabilityQuery, limited_max: int) -> list[dict[str, Any]]:
    """Availability of each GTIN asked (in the order asked, each once), network-wide and per location, shaped as
    ProductAvailability. Plain dicts: a GTIN held at 1,000 stores is 1,000 rows per answer, and building a model
    per row would cost more than the query."""
    gtins = list(dict.fromkeys(data.gtins))
    missing = catalog.missing(session, set(gtins))
    if missing:
        raise NotFound(
            "unknown products", details=[{"field": "gtins", "message": f"unknown product {g}"} for g in gtins if g in missing]
        )
    shown = _shown_locations(session, data.location_ids, data.near)
    per_gtin: dict[str, dict[str, int]] = defaultdict(dict)
    network: dict[str, int] = defaultdict(int)
    places: dict[str, tuple[str, LocationKind]] = {}
    for location_id, name, kind, gtin, on_hand, reserved, safety in repository.levels(session, gtins):
        units = available(on_hand, reserved, safety)
        network[gtin] += units
        per_gtin[gtin][location_id] = units
        places[location_id] = (name, kind)
    if shown is not None:
        for loc, _ in shown:
            places.setdefault(loc.id, (loc.name, loc.kind))
    out = []
    for gtin in gtins:
        listed = [(loc, None) for loc in per_gtin[gtin]] if shown is None else [(loc.id, dist) for loc, dist in shown]
        rows = []
        for location_id, dist in listed:
            name, kind = places[location_id]
            units = per_gtin[gtin].get(location_id, 0)
            rows.append({
                "location_id": location_id, "name": name, "kind": kind.value, "pickup": kind is LocationKind.STORE, "available": units,
                "bucket": bucket(units, limited_max), "distance_km": None if dist is None else round(dist, 3),
            })
        out.append({"gtin": gtin, "network": {"available": network[gtin], "bucket": bucket(network[gtin], limited_max)}, "locations": rows})
    return out


def _shown_locations(session: Session, location_ids: Sequence[str] | None, near: Near | None) -> list[tuple[Location, float | None]] | None:
    """The locations to list for every GTIN (None: those holding it): the ones named (404 naming any unknown or
    inactive), or the active stores near a point, nearest first."""
    chosen: list[tuple[Location, float | None]] | None = None
    if location_ids is not None:
        wanted = list(dict.fromkeys(location_ids))
        found = {loc.id: loc for loc in repository.active_locations(session, wanted)}
        unknown = [x for x in wanted if x not in found]
        if unknown:
            raise NotFound(
                "unknown or inactive locations", details=[{"field": "location_ids", "message": f"unknown or inactive location {x}"} for x in unknown]
            )
        chosen = [(found[x], None) for x in wanted]
    if near is not None:
        candidates = [loc for loc, _ in chosen] if chosen is not None else repository.active_locations(session, kind=LocationKind.STORE)
        return nearest(candidates, near.lat, near.lon, near.radius_km)
    return chosen


def nearest(candidates: Sequence[Location], lat: float, lon: float, radius_km: float) -> list[tuple[Location, float | None]]:
    """The candidates within `radius_km` of a point, nearest first (ties by id), with their distance."""
    if not candidates:
        return []
    km = haversine_km(lat, lon, [loc.lat for loc in candidates], [loc.lon for loc in candidates])
    inside = [(loc, float(d)) for loc, d in zip(candidates, km) if d <= radius_km]
    return sorted(inside, key=lambda pair: (pair[1], pair[0].id))  # type: ignore[return-value]

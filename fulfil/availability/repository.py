"""Reading what may be promised: stock levels of active locations, straight from the database (no cache)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.models import Location, LocationKind, StockLevel


Level = tuple[str, str, LocationKind, str, int, int, int]  # location_id, name, kind, gtin, on_hand, reserved, safety


def levels(session: Session, gtins: Collection[str], location_ids: Collection[str] | None = None) -> list[Level]:
    """Stock levels of the GTINs at active locations (all, or those named), by location then GTIN, in one query."""
    stmt = (
        select(
            StockLevel.location_id, Location.name, Location.kind, StockLevel.gtin, StockLevel.on_hand, StockLevel.reserved, StockLevel.safety,
        )
        .join(Location, Location.id == StockLevel.location_id)
        .where(StockLevel.gtin.in_(list(gtins)), Location.active.is_(True))
        .order_by(StockLevel.location_id, StockLevel.gtin)
    )
    if location_ids is not None:
        stmt = stmt.where(StockLevel.location_id.in_(list(location_ids)))
    return [tuple(row) for row in session.execute(stmt)]  # type: ignore[misc]


def active_locations(session: Session, location_ids: Collection[str] | None = None, kind: LocationKind | None = None) -> list[Location]:
    """Active locations (all, those named, or of one kind), by id."""
    stmt = select(Location).where(Location.active.is_(True)).order_by(Location.id)
    if location_ids is not None:
        stmt = stmt.where(Location.id.in_(list(location_ids)))
    if kind is not None:
        stmt = stmt.where(Location.kind == kind)
    return list(session.scalars(stmt))

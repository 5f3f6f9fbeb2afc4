"""Reading what may be promised: stock levels straight from the database (no cache)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.models import StockLevel

Level = tuple[str, str, int, int, int]  # location_id, gtin, on_hand, reserved, safety


def levels(session: Session, gtins: Collection[str]) -> list[Level]:
    """Stock levels of the GTINs at every location, by location then GTIN, in one query. Which locations are active
    is the location index's answer (fulfil.locations.index), checked against the database in the same request."""
    stmt = (
        select(StockLevel.location_id, StockLevel.gtin, StockLevel.on_hand, StockLevel.reserved, StockLevel.safety)
        .where(StockLevel.gtin.in_(list(gtins)))
        .order_by(StockLevel.location_id, StockLevel.gtin)
    )
    return [tuple(row) for row in session.execute(stmt)]  # type: ignore[misc]

"""Queries of customer tracking: an order by tracking token or pickup code, with its shipments and parcels."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from fulfil.models import Location, Order, Shipment


def order_tracked_by(session: Session, *, token: str | None = None, pickup_code: str | None = None) -> Order | None:
    """The order with this tracking token or pickup code (stored forms), shipments and parcels loaded."""
    stmt = select(Order).options(selectinload(Order.shipments).selectinload(Shipment.parcels))
    if token is not None:
        stmt = stmt.where(Order.tracking_token == token)
    elif pickup_code is not None:
        stmt = stmt.where(Order.pickup_code == pickup_code)
    else:
        return None
    return session.scalars(stmt).one_or_none()


def store(session: Session, location_id: str) -> Location | None:
    """The pickup store."""
    return session.get(Location, location_id)

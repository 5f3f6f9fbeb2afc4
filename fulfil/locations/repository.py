"""Queries on locations."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.models import Location, LocationKind


def get(session: Session, location_id: str) -> Location | None:
    """One location by id."""
    return session.get(Location, location_id)


def list_(session: Session, *, kind: LocationKind | None, only_id: str | None, limit: int, offset: int) -> Sequence[Location]:
    """Locations in id order, optionally of one kind or only one id (a scoped token's own)."""
    stmt = select(Location).order_by(Location.id).limit(limit).offset(offset)
    if kind is not None:
        stmt = stmt.where(Location.kind == kind)
    if only_id is not None:
        stmt = stmt.where(Location.id == only_id)
    return session.scalars(stmt).all()

"""Reading what changed at a location since a cursor (works whichever process made the change)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fulfil.horizon import final
from fulfil.models import DomainEvent, ParcelVerification, StockEvent, TagAnomaly

Limits = dict[str, int | None]  # fulfil.horizon: per event table, the largest id final now (None: no limit)


def heads(session: Session, location_id: str, limits: Limits) -> tuple[int, int, int, int]:
    """The newest final stock event, verification, tag anomaly and business event ids at a location (0 when none)."""
    found = []
    for model in (StockEvent, ParcelVerification, TagAnomaly, DomainEvent):
        where = (model.location_id == location_id, final(model.id, limits[model.__tablename__]))
        found.append(int(session.scalar(select(func.max(model.id)).where(*where)) or 0))
    return found[0], found[1], found[2], found[3]


def stock_after(session: Session, location_id: str, after: int, limit: int, upto: int | None) -> Sequence[StockEvent]:
    """Stock events of a location newer than `after`, oldest first."""
    stmt = select(StockEvent).where(StockEvent.location_id == location_id, StockEvent.id > after, final(StockEvent.id, upto)).order_by(StockEvent.id).limit(limit)
    return session.scalars(stmt).all()


def verifications_after(session: Session, location_id: str, after: int, limit: int, upto: int | None) -> Sequence[ParcelVerification]:
    """Parcel verdicts of a location newer than `after`, oldest first."""
    stmt = select(ParcelVerification).where(ParcelVerification.location_id == location_id, ParcelVerification.id > after, final(ParcelVerification.id, upto))
    return session.scalars(stmt.order_by(ParcelVerification.id).limit(limit)).all()


def anomalies_after(session: Session, location_id: str, after: int, limit: int, upto: int | None) -> Sequence[TagAnomaly]:
    """Tag anomalies seen at a location newer than `after`, oldest first."""
    stmt = select(TagAnomaly).where(TagAnomaly.location_id == location_id, TagAnomaly.id > after, final(TagAnomaly.id, upto))
    return session.scalars(stmt.order_by(TagAnomaly.id).limit(limit)).all()


def business_after(session: Session, location_id: str, after: int, limit: int, upto: int | None) -> Sequence[DomainEvent]:
    """Business events of a location (shipments, orders, pickups, tasks, returns) newer than `after`, oldest first."""
    stmt = select(DomainEvent).where(DomainEvent.location_id == location_id, DomainEvent.id > after, final(DomainEvent.id, upto))
    return session.scalars(stmt.order_by(DomainEvent.id).limit(limit)).all()

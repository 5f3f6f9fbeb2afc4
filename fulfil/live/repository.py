"""Reading what changed at a location since a cursor (works whichever process made the change)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fulfil.models import DomainEvent, ParcelVerification, StockEvent, TagAnomaly


def heads(session: Session, location_id: str) -> tuple[int, int, int, int]:
    """The newest stock event, verification, tag anomaly and business event ids at a location (0 when none)."""
    stock = session.scalar(select(func.max(StockEvent.id)).where(StockEvent.location_id == location_id)) or 0
    verdicts = session.scalar(select(func.max(ParcelVerification.id)).where(ParcelVerification.location_id == location_id)) or 0
    anomalies = session.scalar(select(func.max(TagAnomaly.id)).where(TagAnomaly.location_id == location_id)) or 0
    business = session.scalar(select(func.max(DomainEvent.id)).where(DomainEvent.location_id == location_id)) or 0
    return int(stock), int(verdicts), int(anomalies), int(business)


def stock_after(session: Session, location_id: str, after: int, limit: int) -> Sequence[StockEvent]:
    """Stock events of a location newer than `after`, oldest first."""
    stmt = select(StockEvent).where(StockEvent.location_id == location_id, StockEvent.id > after).order_by(StockEvent.id).limit(limit)
    return session.scalars(stmt).all()


def verifications_after(session: Session, location_id: str, after: int, limit: int) -> Sequence[ParcelVerification]:
    """Parcel verdicts of a location newer than `after`, oldest first."""
    stmt = select(ParcelVerification).where(ParcelVerification.location_id == location_id, ParcelVerification.id > after)
    return session.scalars(stmt.order_by(ParcelVerification.id).limit(limit)).all()


def anomalies_after(session: Session, location_id: str, after: int, limit: int) -> Sequence[TagAnomaly]:
    """Tag anomalies seen at a location newer than `after`, oldest first."""
    stmt = select(TagAnomaly).where(TagAnomaly.location_id == location_id, TagAnomaly.id > after)
    return session.scalars(stmt.order_by(TagAnomaly.id).limit(limit)).all()


def business_after(session: Session, location_id: str, after: int, limit: int) -> Sequence[DomainEvent]:
    """Business events of a location (shipments, orders, pickups, tasks, returns) newer than `after`, oldest first."""
    stmt = select(DomainEvent).where(DomainEvent.location_id == location_id, DomainEvent.id > after)
    return session.scalars(stmt.order_by(DomainEvent.id).limit(limit)).all()

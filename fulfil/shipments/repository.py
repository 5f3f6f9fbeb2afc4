"""Queries on shipments."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from fulfil.models import Shipment, ShipmentLine, ShipmentStatus, ShortPickRequest
from fulfil.shipments.states import HOLDS_RESERVATION


def get(session: Session, shipment_id: int, *, lock: bool = False) -> Shipment | None:
    """One shipment with its lines and parcels; `lock` takes its row lock on PostgreSQL."""
    session.flush()  # it reloads (populate_existing): pending changes must reach the database first
    stmt = select(Shipment).where(Shipment.id == shipment_id).options(selectinload(Shipment.lines), selectinload(Shipment.parcels))
    if lock:
        stmt = stmt.with_for_update(of=Shipment)
    return session.scalars(stmt.execution_options(populate_existing=True)).one_or_none()


def list_(session: Session, *, location_id: str | None, status: ShipmentStatus | None, limit: int, offset: int) -> Sequence[Shipment]:
    """Shipments, oldest first (the order a store should work them in)."""
    stmt = select(Shipment).options(selectinload(Shipment.lines), selectinload(Shipment.parcels)).order_by(Shipment.id).limit(limit).offset(offset)
    if location_id is not None:
        stmt = stmt.where(Shipment.location_id == location_id)
    if status is not None:
        stmt = stmt.where(Shipment.status == status)
    return session.scalars(stmt).all()


def holding(session: Session, location_id: str, gtin: str) -> Sequence[Shipment]:
    """Shipments at a location that hold a reservation of a product (with their lines), as committed now, unlocked
    (a writer locks the one it changes, its order first)."""
    session.flush()
    stmt = (
        select(Shipment)
        .where(Shipment.held_at == location_id, Shipment.status.in_(list(HOLDS_RESERVATION)))
        .where(Shipment.id.in_(select(ShipmentLine.shipment_id).where(ShipmentLine.gtin == gtin)))
        .options(selectinload(Shipment.lines), selectinload(Shipment.parcels))
        .order_by(Shipment.id)
    )
    return session.scalars(stmt.execution_options(populate_existing=True)).all()


def short_request(session: Session, shipment_id: int, idempotency_key: str) -> ShortPickRequest | None:
    """The short pick of a shipment made with an Idempotency-Key, if any."""
    stmt = select(ShortPickRequest).where(ShortPickRequest.shipment_id == shipment_id, ShortPickRequest.idempotency_key == idempotency_key)
    return session.scalars(stmt).one_or_none()

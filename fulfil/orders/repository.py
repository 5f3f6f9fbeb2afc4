"""Queries on orders."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session, selectinload

from fulfil.models import Channel, Order, OrderCancellation, OrderStatus, Shipment


def _with_children(stmt: Select[tuple[Order]]) -> Select[tuple[Order]]:
    return stmt.options(
        selectinload(Order.lines),
        selectinload(Order.shipments).selectinload(Shipment.lines),
        selectinload(Order.shipments).selectinload(Shipment.parcels),
    )


def get_full(session: Session, order_id: int) -> Order | None:
    """An order with its lines, shipments, shipment lines and parcels loaded."""
    return session.scalars(_with_children(select(Order).where(Order.id == order_id)).execution_options(populate_existing=True)).one_or_none()


def get_by_external_id(session: Session, external_id: str) -> Order | None:
    """An order by the client's id, with its children loaded."""
    return session.scalars(_with_children(select(Order).where(Order.external_id == external_id))).one_or_none()


def touches_location(session: Session, order_id: int, location_id: str) -> bool:
    """Whether a location took, serves or hands over the order."""
    shipment_there = exists().where(Shipment.order_id == Order.id, Shipment.location_id == location_id)
    stmt = select(Order.id).where(
        Order.id == order_id,
        or_(Order.origin_location_id == location_id, Order.pickup_location_id == location_id, shipment_there),
    )
    return session.scalars(stmt).first() is not None


def cancellation_by_key(session: Session, order_id: int, idempotency_key: str) -> OrderCancellation | None:
    """The cancellation of an order made with an Idempotency-Key, if any."""
    stmt = select(OrderCancellation).where(OrderCancellation.order_id == order_id, OrderCancellation.idempotency_key == idempotency_key)
    return session.scalars(stmt).one_or_none()


def list_(
    session: Session,
    *,
    status: OrderStatus | None,
    channel: Channel | None,
    external_id: str | None,
    location_id: str | None,
    limit: int,
    offset: int,
    token_id: int | None = None,
) -> Sequence[Order]:
    """Orders, newest first, filtered; `location_id` keeps those a location took, serves or hands over."""
    stmt = select(Order).order_by(Order.id.desc()).limit(limit).offset(offset)
    if status is not None:
        stmt = stmt.where(Order.status == status)
    if channel is not None:
        stmt = stmt.where(Order.channel == channel)
    if token_id is not None:  # a channel's own orders
        stmt = stmt.where(Order.token_id == token_id)
    if external_id is not None:
        stmt = stmt.where(Order.external_id == external_id)
    if location_id is not None:
        shipment_there = exists().where(Shipment.order_id == Order.id, Shipment.location_id == location_id)
        stmt = stmt.where(or_(Order.origin_location_id == location_id, Order.pickup_location_id == location_id, shipment_there))
    return session.scalars(stmt).all()

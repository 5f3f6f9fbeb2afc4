"""Queries of click and collect: the shipments waiting at a pickup store, codes, parcels by SSCC, what is due."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from fulfil.models import Handover, Order, Parcel, RfidTag, Shipment, ShipmentStatus, TagState

S = ShipmentStatus
# What a pickup store has waiting by default: on the way to it, arrived, ready for the customer.
WAITING = (S.IN_TRANSIT, S.RECEIVED, S.READY_FOR_PICKUP)


def pickups(
    session: Session, *, location_id: str | None, statuses: Sequence[ShipmentStatus], limit: int, offset: int
) -> Sequence[tuple[Shipment, Order]]:
    """Click-and-collect shipments (of one pickup store, or all) in the given statuses with their orders, oldest first."""
    stmt = (
        select(Shipment, Order).join(Order, Order.id == Shipment.order_id)
        .where(Shipment.pickup_location_id.is_not(None), Shipment.status.in_(list(statuses)))
        .options(selectinload(Shipment.lines), selectinload(Shipment.parcels))
        .order_by(Shipment.id).limit(limit).offset(offset)
    )
    if location_id is not None:
        stmt = stmt.where(Shipment.pickup_location_id == location_id)
    return [(s, o) for s, o in session.execute(stmt)]


def order_by_code(session: Session, code: str) -> Order | None:
    """The order with this pickup code (the stored form), if any."""
    return session.scalars(select(Order).where(Order.pickup_code == code)).one_or_none()


def shipment_of_parcel(session: Session, sscc: str) -> int | None:
    """The id of the shipment the parcel with this SSCC carries, if any."""
    return session.scalar(select(Parcel.shipment_id).where(Parcel.sscc == sscc))


def in_transit_to(session: Session, shipment_id: int | None, location_id: str) -> bool:
    """Whether a shipment is a ship-to-store parcel on its way to `location_id` (a cheap check before locking)."""
    if shipment_id is None:
        return False
    stmt = select(Shipment.id).where(Shipment.id == shipment_id, Shipment.status == S.IN_TRANSIT, Shipment.pickup_location_id == location_id)
    return session.scalar(stmt) is not None


def handover_of(session: Session, shipment_id: int) -> Handover | None:
    """The handover of a shipment, if it was handed over."""
    return session.scalars(select(Handover).where(Handover.shipment_id == shipment_id)).one_or_none()


def tags_of(session: Session, shipment_id: int, states: Sequence[TagState], gtin: str | None = None) -> list[str]:
    """EPCs of a shipment's tags (of one product, when given) in the given states, in EPC order."""
    stmt = select(RfidTag.epc).where(RfidTag.shipment_id == shipment_id, RfidTag.state.in_(list(states)))
    if gtin is not None:
        stmt = stmt.where(RfidTag.gtin == gtin)
    return list(session.scalars(stmt.order_by(RfidTag.epc)))


def set_tags(session: Session, epcs: Sequence[str], **values: object) -> None:
    """Move tags to new values, each a new version (so no earlier reader decision can apply to them again)."""
    if epcs:
        session.execute(
            update(RfidTag).where(RfidTag.epc.in_(list(epcs))).values(version=RfidTag.version + 1, **values)
            .execution_options(synchronize_session=False)
        )


def due_reminders(session: Session, now: datetime, ahead: timedelta) -> list[int]:
    """Ready pickups expiring within `ahead` of `now` whose customer was not reminded yet, oldest deadline first."""
    stmt = select(Shipment.id).where(
        Shipment.status == S.READY_FOR_PICKUP, Shipment.reminded_at.is_(None), Shipment.expires_at.is_not(None),
        Shipment.expires_at > now, Shipment.expires_at <= now + ahead,
    )
    return list(session.scalars(stmt.order_by(Shipment.expires_at, Shipment.id)))


def mark_reminded(session: Session, shipment_id: int, now: datetime) -> bool:
    """Record that a pickup's reminder goes out now, unless it went out already or the pickup moved on: exactly one
    of any number of concurrent sweeps gets True (one conditional UPDATE)."""
    result = session.execute(
        update(Shipment).where(Shipment.id == shipment_id, Shipment.status == S.READY_FOR_PICKUP, Shipment.reminded_at.is_(None))
        .values(reminded_at=now).execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def due_expiry(session: Session, now: datetime) -> list[tuple[int, int]]:
    """(order id, shipment id) of ready pickups whose hold period is over, oldest deadline first."""
    stmt = select(Shipment.order_id, Shipment.id).where(
        Shipment.status == S.READY_FOR_PICKUP, Shipment.expires_at.is_not(None), Shipment.expires_at <= now
    )
    return [(o, s) for o, s in session.execute(stmt.order_by(Shipment.expires_at, Shipment.id))]

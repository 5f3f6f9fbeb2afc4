"""Click and collect at the pickup store: ready for pickup, what is waiting, the customer checking in at the curb."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.deps import check_location
from fulfil.errors import Conflict, NotFound
from fulfil.models import Location, Order, OrderStatus, Shipment, ShipmentStatus
from fulfil.models.base import utcnow
from fulfil.pickups import codes, notices, repository
from fulfil.pickups.schemas import CheckinRequest
from fulfil.routing_runs import assign
from fulfil.routing_runs import repository as routing_repository
from fulfil.shipments import repository as shipments_repository
from fulfil.shipments import service as shipments
from fulfil.shipments.states import advance

S = ShipmentStatus


def locked(session: Session, shipment_id: int, principal: Principal | None) -> tuple[Order, Shipment]:
    """A click-and-collect shipment the caller may see and act on at its pickup store, with its order: the order row
    locked first, then the shipment's (the order every writer of click and collect takes them in), both re-read.
    Conflict when it is no click-and-collect shipment; a picker of another store than the pickup store is refused."""
    if principal is not None:
        shipment = shipments.get(session, shipment_id, principal)
    else:
        found = shipments_repository.get(session, shipment_id)
        if found is None:
            raise NotFound(f"shipment {shipment_id} not found", details={"shipment_id": shipment_id})
        shipment = found
    if shipment.pickup_location_id is None:
        raise Conflict(
            f"shipment {shipment.id} is a home delivery, not a click-and-collect parcel", details={"shipment_id": shipment.id},
            code="not_click_and_collect",
        )
    if principal is not None:
        check_location(principal, shipment.pickup_location_id)
    order = routing_repository.order_with_shipments(session, shipment.order_id, lock=True)
    again = shipments_repository.get(session, shipment_id, lock=True)
    assert order is not None and again is not None
    return order, again


def refresh_order(session: Session, order: Order) -> None:
    """Derive the order's status again from its shipments (order.ready_for_pickup, order.collected, ...)."""
    session.flush()
    fresh = routing_repository.order_with_shipments(session, order.id)
    assert fresh is not None
    assign.refresh_status(fresh, fresh.shipments)
    session.flush()


def ready(session: Session, shipment_id: int, principal: Principal, now: datetime | None = None) -> Shipment:
    """Staged in the pickup area and the customer told: verified at the pickup store (same-store) or received there
    (ship-to-store) -> ready_for_pickup. Its units stay reserved where they are (no walk-in can buy them) until the
    handover or the end of the store's hold period. A retry of a ready pickup changes nothing."""
    order, shipment = locked(session, shipment_id, principal)
    if shipment.status is S.READY_FOR_PICKUP:
        return shipment
    if shipment.status is S.VERIFIED and shipment.location_id != shipment.pickup_location_id:
        raise Conflict(
            f"shipment {shipment.id} is packed at {shipment.location_id} for pickup at {shipment.pickup_location_id}: ship it "
            f"there (POST /api/v1/shipments/{shipment.id}/ship), and mark it ready once it is received",
            details={"shipment_id": shipment.id, "location_id": shipment.location_id, "pickup_location_id": shipment.pickup_location_id},
            code="ship_to_store",
        )
    store = session.get(Location, shipment.pickup_location_id)
    assert store is not None
    at = now or utcnow()
    advance(shipment, S.READY_FOR_PICKUP)  # from verified (same store) or received; anything else is refused, naming what is allowed
    shipment.ready_at = at
    shipment.expires_at = at + timedelta(days=store.pickup_hold_days)
    refresh_order(session, order)
    notices.ready(session, order, shipment, store)
    return shipment


def waiting(
    session: Session, principal: Principal, location_id: str | None, status: ShipmentStatus | None, limit: int, offset: int
) -> Sequence[tuple[Shipment, Order]]:
    """Click-and-collect shipments of a pickup store (a picker: its own), by default those on the way, received or
    ready; oldest first."""
    if principal.location_id is not None:
        location_id = location_id or principal.location_id
        check_location(principal, location_id)
    statuses = [status] if status is not None else list(repository.WAITING)
    return repository.pickups(session, location_id=location_id, statuses=statuses, limit=limit, offset=offset)


# Orders a customer can check in for: something of them is on its way to the pickup store or waiting there.
CHECKIN_OPEN = frozenset({OrderStatus.ROUTED, OrderStatus.PARTIALLY_ROUTED, OrderStatus.FULFILLING, OrderStatus.READY_FOR_PICKUP})


@dataclass(frozen=True)
class CheckedIn:
    """What the customer learns from checking in: the store's name and whether the order is ready."""

    store_name: str
    ready: bool
    checked_in_at: datetime
    checkin: dict[str, Any]


class UnknownCode(Exception):
    """No order waiting for collection has this code (unknown, or collected or cancelled already: the same answer)."""


def checkin(session: Session, typed_code: str, data: CheckinRequest, now: datetime | None = None) -> CheckedIn:
    """The customer says "I'm here" (curbside). The first check-in time is kept (the curbside task's age); a new
    bay, car or note updates it (the others are kept) and alerts the store again; a repeat changes nothing."""
    order = repository.order_by_code(session, codes.normalise(typed_code))
    if order is None or order.pickup_location_id is None or order.status not in CHECKIN_OPEN:
        raise UnknownCode()
    order = routing_repository.order_with_shipments(session, order.id, lock=True)
    assert order is not None and order.pickup_location_id is not None
    if order.status not in CHECKIN_OPEN:
        raise UnknownCode()
    store = session.get(Location, order.pickup_location_id)
    assert store is not None
    ready = order.status is OrderStatus.READY_FOR_PICKUP
    details = {**(order.checkin or {}), **data.model_dump(exclude_none=True)}  # what is not said again is kept
    if order.checked_in_at is None or order.checkin != details:
        first = order.checked_in_at is None
        if first:
            order.checked_in_at = now or utcnow()
        order.checkin = details
        notices.checked_in(session, order, store.id, details, ready, updated=not first)
        session.flush()
    assert order.checked_in_at is not None
    return CheckedIn(store.name, ready, order.checked_in_at, details)

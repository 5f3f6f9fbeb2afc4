"""Customer tracking: an order found by its tracking token or pickup code, told as the customer may know it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fulfil.models import Order, OrderStatus, Parcel, ParcelStatus, Shipment, ShipmentStatus
from fulfil.pickups import codes
from fulfil.shipments.states import AT_PICKUP, DROPPED, STARTED
from fulfil.tracking import repository, tokens
from fulfil.tracking.schemas import PickupStore, PickupTracking, TrackedParcel, TrackingRead, TrackingStatus

S = ShipmentStatus
T = TrackingStatus

# A parcel's status as the customer sees it; an open parcel is either being packed or was set aside (not shown).
_PARCEL = {
    ParcelStatus.SEALED: ("packed", False),
    ParcelStatus.VERIFIED: ("packed", False),
    ParcelStatus.SHIPPED: ("shipped", True),
    ParcelStatus.RECEIVED: ("at_store", True),
    ParcelStatus.COLLECTED: ("collected", True),
}


class UnknownCode(Exception):
    """No order has this tracking token or pickup code."""


def find(session: Session, typed: str) -> Order:
    """The order a typed tracking token or pickup code names (a token is 32 hex digits, a pickup code 8 symbols;
    case, spaces and dashes in a pickup code are ignored); UnknownCode when none."""
    token = tokens.as_token(typed)
    if token is not None:
        order = repository.order_tracked_by(session, token=token)
    else:
        code = codes.normalise(typed)
        order = repository.order_tracked_by(session, pickup_code=code) if len(code) == codes.CODE_LENGTH else None
    if order is None:
        raise UnknownCode()
    return order


def track(session: Session, typed: str) -> TrackingRead:
    """What the customer may know of the order a token or code names: its status, the pickup store with its opening
    hours and hold period, and the parcels' SSCCs and whether they left. Never prices, lines, the address, other
    orders or internal ids (only the shop's own order number)."""
    order = find(session, typed)
    live = [s for s in order.shipments if s.status not in DROPPED]
    pickup = None
    if order.pickup_location_id is not None:
        store = repository.store(session, order.pickup_location_id)
        assert store is not None
        ready = [s for s in live if s.status is S.READY_FOR_PICKUP]
        pickup = PickupTracking(
            store=PickupStore(name=store.name, address=store.address, opening_hours=store.opening_hours, timezone=store.timezone),
            ready_since=min((s.ready_at for s in ready if s.ready_at is not None), default=None),
            hold_until=min((s.expires_at for s in ready if s.expires_at is not None), default=None),
        )
    return TrackingRead(
        external_id=order.external_id,
        kind="pickup" if order.pickup_location_id is not None else "delivery",
        status=customer_status(order, live),
        pickup=pickup,
        parcels=[_parcel(p) for s in live for p in s.parcels if p.status in _PARCEL],
    )


def customer_status(order: Order, live: list[Shipment]) -> TrackingStatus:
    """The order's status in the customer's words, from the order's own and its live (not dropped) shipments'."""
    settled = {OrderStatus.CANCELLED: T.CANCELLED, OrderStatus.COLLECTED: T.COLLECTED,
               OrderStatus.READY_FOR_PICKUP: T.READY_FOR_PICKUP, OrderStatus.SHIPPED: T.SHIPPED}
    if order.status in settled:
        return settled[order.status]
    statuses = {s.status for s in live}
    if order.pickup_location_id is None and S.SHIPPED in statuses:
        return T.PARTIALLY_SHIPPED
    if order.pickup_location_id is not None:
        if statuses & {S.READY_FOR_PICKUP, S.COLLECTED}:
            return T.PARTIALLY_READY_FOR_PICKUP
        if statuses & ({S.IN_TRANSIT} | AT_PICKUP):
            return T.ON_THE_WAY_TO_STORE
    if statuses & STARTED:
        return T.PREPARING
    return T.RECEIVED


def _parcel(parcel: Parcel) -> TrackedParcel:
    status, left = _PARCEL[parcel.status]
    return TrackedParcel(sscc=parcel.sscc, status=status, left=left)  # type: ignore[arg-type]

"""Cancelling what has not left: the one place a shipment or an order is cancelled (the cancel route, expired
pickups). Unstarted work is released at once; picked or packed units become put-back tasks that hold their
reservation until the store confirms they are back on the shelf. A parcel that left can be returned, not cancelled."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from fulfil.errors import Conflict
from fulfil.journal import service as journal
from fulfil.models import Order, OrderStatus, RfidTag, Shipment, ShipmentStatus, TagState
from fulfil.models.base import utcnow
from fulfil.routing_runs import assign
from fulfil.shipments.states import AT_PICKUP, LEFT, MOVABLE, STARTED, advance
from fulfil.tasks import service as tasks


def cancel_shipment(session: Session, shipment: Shipment, reason: str, actor: str) -> list[int]:
    """Cancel a shipment that has not left; returns the ids of the put-back tasks it opened (none when nothing was
    started). Conflict (`already_left`) when its parcel has left the location that served it."""
    if shipment.status in LEFT:
        raise Conflict(
            f"shipment {shipment.id} has {shipment.status.value.replace('_', ' ')}: it can be returned, not cancelled",
            details={"shipment_id": shipment.id, "status": shipment.status.value}, code="already_left",
        )
    opened: list[int] = []
    if shipment.status in MOVABLE:
        assign.release_shipment(session, shipment, actor, f"cancelled: {reason}")
    elif shipment.status in STARTED | AT_PICKUP:
        # The units are in a picker's hands, a parcel or a pickup bag: the store puts them back, then they are free.
        for line in shipment.lines:
            opened.append(tasks.open_put_back(session, shipment, line.gtin, line.qty, reason).id)
        session.execute(
            update(RfidTag).where(RfidTag.shipment_id == shipment.id, RfidTag.state.in_([TagState.PICKED, TagState.PACKED]))
            .values(state=TagState.IN_STOCK, shipment_id=None, version=RfidTag.version + 1).execution_options(synchronize_session=False)
        )
    else:
        return opened  # rejected, superseded, expired or cancelled already: nothing holds units
    advance(shipment, ShipmentStatus.CANCELLED, reason=reason)
    session.flush()
    return opened


def cancel_order(session: Session, order: Order, reason: str, actor: str) -> list[int]:
    """Cancel every part of an order that has not left (order loaded with its shipments and lines, locked). Units
    nobody will fulfil now count as cancelled on their lines; the order is cancelled when nothing of it left.
    Returns the put-back tasks opened."""
    opened: list[int] = []
    for shipment in order.shipments:
        if shipment.status not in LEFT:
            opened += cancel_shipment(session, shipment, reason, actor)
    left = [s for s in order.shipments if s.status in LEFT]
    delivered: dict[int, int] = {}
    for shipment in left:
        for sl in shipment.lines:
            delivered[sl.order_line_id] = delivered.get(sl.order_line_id, 0) + sl.qty
    for line in order.lines:
        line.cancelled_qty = line.qty - delivered.get(line.id, 0)
    if not left and order.status is not OrderStatus.CANCELLED:
        previous = order.status
        order.status = OrderStatus.CANCELLED
        order.cancel_reason = reason
        order.cancelled_at = utcnow()
        journal.order_changed(order, previous, reason=reason)
    else:
        assign.refresh_status(order, order.shipments)
    session.flush()
    return opened

"""Shipment workflows: a location rejects work, and what is left of the order is routed elsewhere."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.config import Settings
from fulfil.deps import check_location
from fulfil.errors import NotFound
from fulfil.models import Shipment, ShipmentStatus
from fulfil.routing_runs import assign
from fulfil.routing_runs import repository as routing_repository
from fulfil.routing_runs.service import Routed, route_order
from fulfil.shipments import repository
from fulfil.shipments.states import advance, can_move


def get(session: Session, shipment_id: int, principal: Principal, *, lock: bool = False) -> Shipment:
    """A shipment the caller may see (a picker: its store's only; others look missing)."""
    shipment = repository.get(session, shipment_id, lock=lock)
    if shipment is None or (principal.location_id is not None and shipment.location_id != principal.location_id):
        raise NotFound(f"shipment {shipment_id} not found", details={"shipment_id": shipment_id})
    return shipment


def reject(session: Session, shipment_id: int, reason: str, principal: Principal, settings: Settings) -> tuple[Shipment, Routed]:
    """The location cannot fulfil the shipment: release its stock and route the units elsewhere, never back to it."""
    shipment = get(session, shipment_id, principal, lock=True)
    check_location(principal, shipment.location_id)
    if not can_move(shipment.status, ShipmentStatus.REJECTED):
        advance(shipment, ShipmentStatus.REJECTED, reason=reason)  # raises, naming the allowed statuses
    # Release while the shipment still holds its reservation (picked units are off the shelf already).
    assign.release_shipment(session, shipment, principal.label, f"rejected: {reason}")
    advance(shipment, ShipmentStatus.REJECTED, reason=reason)
    session.flush()
    order = routing_repository.order_with_shipments(session, shipment.order_id, lock=True)
    assert order is not None
    routed = route_order(
        session, order, settings, actor=principal.label, reason=f"re-routed after {shipment.location_id} rejected it ({reason})"
    )
    return shipment, routed

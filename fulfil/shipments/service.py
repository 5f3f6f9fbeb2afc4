"""Shipment workflows: a location rejects work, and what is left of the order is routed elsewhere."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.config import Settings
from fulfil.deps import check_location
from fulfil.errors import InvalidInput, NotFound
from fulfil.models import RfidTag, Shipment, ShipmentStatus, TagState
from fulfil.routing_runs import assign
from fulfil.routing_runs import repository as routing_repository
from fulfil.routing_runs.service import Routed, route_order
from fulfil.shipments import repository
from fulfil.shipments.schemas import PickedUnits
from fulfil.shipments.states import advance, can_move


def get(session: Session, shipment_id: int, principal: Principal, *, lock: bool = False) -> Shipment:
    """A shipment the caller may see (a picker: its store's only; others look missing)."""
    shipment = repository.get(session, shipment_id, lock=lock)
    if shipment is None or (principal.location_id is not None and shipment.location_id != principal.location_id):
        raise NotFound(f"shipment {shipment_id} not found", details={"shipment_id": shipment_id})
    return shipment


def reject(
    session: Session, shipment_id: int, reason: str, principal: Principal, settings: Settings, picked_units: PickedUnits | None = None
) -> tuple[Shipment, Routed]:
    """The location cannot fulfil the shipment: give back every unit it holds (picked ones restocked or written off)
    and route the units elsewhere, never back to it."""
    shipment = get(session, shipment_id, principal, lock=True)
    check_location(principal, shipment.location_id)
    if not can_move(shipment.status, ShipmentStatus.REJECTED):
        advance(shipment, ShipmentStatus.REJECTED, reason=reason)  # raises, naming the allowed statuses
    picked = sum(line.picked_qty for line in shipment.lines)
    if picked and picked_units is None:
        raise InvalidInput(
            f"{picked} units of shipment {shipment.id} were picked already: say whether they go back on the shelf (restock) "
            "or are written off (write_off)",
            details=[{"field": "body.picked_units", "message": "required once units are picked: restock or write_off", "type": "missing"}],
        )
    write_off = picked_units is PickedUnits.WRITE_OFF
    # Release while the shipment still holds its reservation: every unit it holds, picked or not.
    assign.release_shipment(session, shipment, principal.label, f"rejected: {reason}", write_off_picked=write_off)
    _free_tags(session, shipment, written_off=write_off)
    advance(shipment, ShipmentStatus.REJECTED, reason=reason)
    session.flush()
    order = routing_repository.order_with_shipments(session, shipment.order_id, lock=True)
    assert order is not None
    routed = route_order(
        session, order, settings, actor=principal.label, reason=f"re-routed after {shipment.location_id} rejected it ({reason})"
    )
    return shipment, routed


def _free_tags(session: Session, shipment: Shipment, *, written_off: bool) -> None:
    """Tags packed into a rejected shipment leave it: back in stock, or missing when its units were written off."""
    state = TagState.MISSING if written_off else TagState.IN_STOCK
    session.execute(
        update(RfidTag).where(RfidTag.shipment_id == shipment.id, RfidTag.state.in_([TagState.PICKED, TagState.PACKED]))
        .values(state=state, shipment_id=None, version=RfidTag.version + 1).execution_options(synchronize_session=False)
    )

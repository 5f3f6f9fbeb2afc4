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
from fulfil.shipments.states import MOVABLE, advance, can_move


def get(session: Session, shipment_id: int, principal: Principal, *, lock: bool = False) -> Shipment:
    """A shipment the caller may see (a picker: those its store serves or, click and collect, hands over; others
    look missing). Acting on it is checked by each workflow (a pickup store only receives, readies and hands over)."""
    shipment = repository.get(session, shipment_id, lock=lock)
    if shipment is None or (principal.location_id is not None and principal.location_id not in (shipment.location_id, shipment.pickup_location_id)):
        raise NotFound(f"shipment {shipment_id} not found", details={"shipment_id": shipment_id})
    return shipment


def get_to_work(session: Session, shipment_id: int, principal: Principal) -> Shipment:
    """A shipment of the caller's location (ops: any), locked for a change: its order's row lock first, then its own
    (the lock order of every writer: fulfil.routing_runs.repository.lock_order), and read as committed then."""
    shipment = get(session, shipment_id, principal)
    check_location(principal, shipment.location_id)
    routing_repository.lock_order(session, shipment.order_id)
    return get(session, shipment_id, principal, lock=True)


def reject(
    session: Session, shipment_id: int, reason: str, principal: Principal, settings: Settings, picked_units: PickedUnits | None = None
) -> tuple[Shipment, Routed]:
    """The location cannot fulfil the shipment: give back every unit it holds (picked ones restocked or written off)
    and route the units elsewhere, never back to it."""
    shipment = get_to_work(session, shipment_id, principal)
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
    _give_back(session, shipment, reason, principal.label, write_off=write_off)
    return shipment, route_again(session, shipment, f"re-routed after {shipment.location_id} rejected it ({reason})", principal.label, settings)


def _give_back(session: Session, shipment: Shipment, reason: str, actor: str, *, write_off: bool) -> None:
    """Reject the shipment: every unit it holds is released (picked ones written off instead, when asked) and its
    tags leave it; its order will not be routed back to this location."""
    # Release while the shipment still holds its reservation: every unit it holds, picked or not.
    assign.release_shipment(session, shipment, actor, f"rejected: {reason}", write_off_picked=write_off)
    free_tags(session, shipment, written_off=write_off)
    advance(shipment, ShipmentStatus.REJECTED, reason=reason)
    session.flush()


def take_units(shipment: Shipment, gtin: str, qty: int) -> dict[int, int]:
    """Take up to `qty` units of a GTIN off a shipment's lines, its last lines first (cancelled or short-picked
    units): a line left with none is removed (a line holds at least one unit) and picked units never exceed a
    line's. Returns the units taken per order line. Stock is the caller's to move."""
    taken: dict[int, int] = {}
    for sl in [sl for sl in reversed(shipment.lines) if sl.gtin == gtin]:
        take = min(qty - sum(taken.values()), sl.qty)
        if take == 0:
            break
        if take == sl.qty:
            shipment.lines.remove(sl)  # deleted on flush
        else:
            sl.qty -= take
            sl.picked_qty = min(sl.picked_qty, sl.qty)
        taken[sl.order_line_id] = taken.get(sl.order_line_id, 0) + take
    return taken


def route_again(session: Session, shipment: Shipment, reason: str, actor: str, settings: Settings) -> Routed:
    """Route what is left of the order of a shipment that gave its units back."""
    order = routing_repository.order_with_shipments(session, shipment.order_id, lock=True)
    assert order is not None
    return route_order(session, order, settings, actor=actor, reason=reason)


def give_up_a_unit(session: Session, location_id: str, gtin: str, reason: str, actor: str) -> Shipment | None:
    """A unit every one of which was promised to orders has left the location (lost through the exit): the shipment
    least far along that holds the product there gives its units back, so the loss can be booked without leaving
    a reservation that no stock stands behind. Nothing started on it: it is superseded; started: it is rejected
    with `reason`, picked units back on the shelf. The caller books the loss, then routes its order again
    (route_again). Returns that shipment, or None when no shipment holds the product there."""
    # A verified parcel waiting for its customer (received, ready for pickup) is bagged and RFID-proven complete: a
    # unit leaving the store came off a shelf, so only shipments still being served there give units back.
    for _attempt in range(3):
        held = [s for s in repository.holding(session, location_id, gtin) if s.status in _PROGRESS]
        if not held:
            return None
        chosen = min(held, key=lambda s: (_PROGRESS.index(s.status), -s.id))
        # Its order's row lock first, then the shipment's: the lock order of every writer (a cancellation or short
        # pick of the same order cannot deadlock with this); then make sure it still holds the product here.
        routing_repository.lock_order(session, chosen.order_id)
        shipment = repository.get(session, chosen.id, lock=True)
        if (shipment is not None and shipment.status in _PROGRESS and shipment.held_at == location_id
                and any(line.gtin == gtin for line in shipment.lines)):
            break
    else:
        return None
    if shipment.status in MOVABLE:
        assign.release_shipment(session, shipment, actor, reason)
        advance(shipment, ShipmentStatus.SUPERSEDED)
        session.flush()
    else:
        _give_back(session, shipment, reason, actor, write_off=False)
    return shipment


# Least far along first: the shipment whose loss of a unit costs the least work.
_PROGRESS = [ShipmentStatus.ASSIGNED, ShipmentStatus.PICKING, ShipmentStatus.PICKED, ShipmentStatus.PACKED, ShipmentStatus.VERIFIED]


def free_tags(session: Session, shipment: Shipment, *, written_off: bool = False) -> None:
    """Tags picked or packed into a shipment leave it (rejected, cancelled, its parcel to be packed again): back in
    stock, or missing when its units were written off."""
    state = TagState.MISSING if written_off else TagState.IN_STOCK
    session.execute(
        update(RfidTag).where(RfidTag.shipment_id == shipment.id, RfidTag.state.in_([TagState.PICKED, TagState.PACKED]))
        .values(state=state, shipment_id=None, version=RfidTag.version + 1).execution_options(synchronize_session=False)
    )

"""Turning routing decisions into shipments and reservations, and back; the order status that follows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy.orm import Session

import routing
from fulfil.journal import service as journal
from fulfil.models import Order, OrderStatus, Shipment, ShipmentLine, ShipmentStatus, StockCause, StockEventKind
from fulfil.shipments.states import AT_PICKUP, DROPPED, HOLDS_RESERVATION, LEFT, MOVABLE, STARTED, advance
from fulfil.stock import service as stock

S = ShipmentStatus


def live_shipments(order: Order) -> list[Shipment]:
    """Shipments of an order that still count (not rejected, superseded, cancelled or expired)."""
    return [s for s in order.shipments if s.status not in DROPPED]


def remaining_units(order: Order, keep: Iterable[Shipment]) -> dict[str, int]:
    """Units per GTIN of the order (less those cancelled) that the shipments in `keep` do not cover."""
    wanted: dict[str, int] = defaultdict(int)
    for line in order.lines:
        wanted[line.gtin] += line.qty - line.cancelled_qty
    for shipment in keep:
        for sl in shipment.lines:
            wanted[sl.gtin] -= sl.qty
    return {g: q for g, q in wanted.items() if q > 0}


def excluded_locations(order: Order) -> set[str]:
    """Locations that rejected work of this order: it is not sent back to them."""
    return {s.location_id for s in order.shipments if s.status is ShipmentStatus.REJECTED}


def create_shipments(session: Session, order: Order, planned: Iterable[routing.Shipment], actor: str, keep: Iterable[Shipment]) -> list[Shipment]:
    """Create shipments for planned parcels and reserve their stock (InsufficientStock if another order won the race)."""
    taken: dict[int, int] = defaultdict(int)  # order line id -> units already in kept shipments
    for shipment in keep:
        for sl in shipment.lines:
            taken[sl.order_line_id] += sl.qty
    created = []
    for parcel in planned:
        shipment = Shipment(
            order_id=order.id, location_id=parcel.location, held_at=parcel.location, pickup_location_id=order.pickup_location_id,
            status=ShipmentStatus.ASSIGNED,
        )
        for pl in parcel.lines:
            need = pl.qty
            for line in order.lines:  # spread over the order's lines of that GTIN, in line order
                if need == 0:
                    break
                if line.gtin != pl.sku:
                    continue
                take = min(need, line.qty - line.cancelled_qty - taken[line.id])
                if take > 0:
                    shipment.lines.append(ShipmentLine(order_line_id=line.id, gtin=line.gtin, qty=take))
                    taken[line.id] += take
                    need -= take
            if need:
                raise ValueError(f"plan ships {pl.qty} of {pl.sku} for {order.external_id}, more than the order has left")
        session.add(shipment)
        session.flush()
        journal.shipment_entered(shipment, None)
        for sl in shipment.lines:
            cause = stock.Cause(StockCause.ORDER, actor=actor, order_id=order.id, shipment_id=shipment.id, reason="routing")
            stock.reserve(session, shipment.location_id, sl.gtin, sl.qty, cause)
        created.append(shipment)
    return created


def release_shipment(session: Session, shipment: Shipment, actor: str, reason: str, *, write_off_picked: bool = False) -> None:
    """Give back every unit a shipment holds: unpicked units are released; picked units are released too (back on
    the shelf) or, with `write_off_picked`, leave stock with a loss event (damaged, lost)."""
    if shipment.status not in HOLDS_RESERVATION:
        return
    cause = stock.Cause(StockCause.ORDER, actor=actor, order_id=shipment.order_id, shipment_id=shipment.id, reason=reason[:64], note=reason)
    for sl in shipment.lines:
        written_off = sl.picked_qty if write_off_picked else 0
        if sl.qty - written_off > 0:
            stock.release(session, shipment.held_at, sl.gtin, sl.qty - written_off, cause)
        if written_off:
            loss = stock.Cause(
                StockCause.ORDER, actor=actor, order_id=shipment.order_id, shipment_id=shipment.id, reason="written off", note=reason
            )
            stock.consume_reserved(session, shipment.held_at, sl.gtin, written_off, StockEventKind.LOSS, loss)


def supersede_movable(session: Session, order: Order, actor: str, reason: str) -> list[Shipment]:
    """Release the shipments nothing has started on and mark them superseded (kept, for the history)."""
    dropped = [s for s in order.shipments if s.status in MOVABLE]
    for shipment in dropped:
        release_shipment(session, shipment, actor, reason)
        advance(shipment, ShipmentStatus.SUPERSEDED)
    session.flush()
    return dropped


def refresh_status(order: Order, shipments: list[Shipment]) -> OrderStatus:
    """Derive the order status from its live shipments and what is left unassigned (a cancelled order stays so)."""
    if order.status is OrderStatus.CANCELLED:
        return order.status
    previous = order.status
    _derive(order, shipments)
    if order.status is not previous:
        journal.order_changed(order, previous)
    return order.status


def _derive(order: Order, shipments: list[Shipment]) -> None:
    live = [s for s in shipments if s.status not in DROPPED]
    left = remaining_units(order, live)
    statuses = {s.status for s in live}
    if not live and not left:  # nothing left to fulfil: every unit was cancelled
        order.status = OrderStatus.CANCELLED
    elif live and not left and statuses <= {S.SHIPPED, S.COLLECTED}:
        order.status = OrderStatus.COLLECTED if S.COLLECTED in statuses else OrderStatus.SHIPPED
    elif live and not left and statuses <= {S.READY_FOR_PICKUP, S.COLLECTED}:
        order.status = OrderStatus.READY_FOR_PICKUP
    elif statuses & (STARTED | LEFT | AT_PICKUP):
        order.status = OrderStatus.FULFILLING
    elif not live:
        order.status = OrderStatus.UNFILLABLE
    elif left:
        order.status = OrderStatus.PARTIALLY_ROUTED
    else:
        order.status = OrderStatus.ROUTED

"""Turning routing decisions into shipments and reservations, and back; the order status that follows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy.orm import Session

import routing
from fulfil.models import Order, OrderStatus, Shipment, ShipmentLine, ShipmentStatus, StockCause, StockEventKind
from fulfil.shipments.states import HOLDS_RESERVATION, MOVABLE, advance
from fulfil.stock import service as stock

STARTED = frozenset({ShipmentStatus.PICKING, ShipmentStatus.PICKED, ShipmentStatus.PACKED, ShipmentStatus.VERIFIED})


ENDED = frozenset({ShipmentStatus.REJECTED, ShipmentStatus.SUPERSEDED})


def live_shipments(order: Order) -> list[Shipment]:
    """Shipments of an order that still count (not rejected or superseded)."""
    return [s for s in order.shipments if s.status not in ENDED]


def remaining_units(order: Order, keep: Iterable[Shipment]) -> dict[str, int]:
    """Units per GTIN of the order that the shipments in `keep` do not cover."""
    wanted: dict[str, int] = defaultdict(int)
    for line in order.lines:
        wanted[line.gtin] += line.qty
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
        shipment = Shipment(order_id=order.id, location_id=parcel.location, status=ShipmentStatus.ASSIGNED)
        for pl in parcel.lines:
            need = pl.qty
            for line in order.lines:  # spread over the order's lines of that GTIN, in line order
                if need == 0:
                    break
                if line.gtin != pl.sku:
                    continue
                take = min(need, line.qty - taken[line.id])
                if take > 0:
                    shipment.lines.append(ShipmentLine(order_line_id=line.id, gtin=line.gtin, qty=take))
                    taken[line.id] += take
                    need -= take
            if need:
                raise ValueError(f"plan ships {pl.qty} of {pl.sku} for {order.external_id}, more than the order has left")
        session.add(shipment)
        session.flush()
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
            stock.release(session, shipment.location_id, sl.gtin, sl.qty - written_off, cause)
        if written_off:
            loss = stock.Cause(
                StockCause.ORDER, actor=actor, order_id=shipment.order_id, shipment_id=shipment.id, reason="written off", note=reason
            )
            stock.consume_reserved(session, shipment.location_id, sl.gtin, written_off, StockEventKind.LOSS, loss)


def supersede_movable(session: Session, order: Order, actor: str, reason: str) -> list[Shipment]:
    """Release the shipments nothing has started on and mark them superseded (kept, for the history)."""
    dropped = [s for s in order.shipments if s.status in MOVABLE]
    for shipment in dropped:
        release_shipment(session, shipment, actor, reason)
        advance(shipment, ShipmentStatus.SUPERSEDED)
    session.flush()
    return dropped


def refresh_status(order: Order, shipments: list[Shipment]) -> OrderStatus:
    """Derive the order status from its live shipments and what is left unassigned."""
    live = [s for s in shipments if s.status not in ENDED]
    if order.status is OrderStatus.CANCELLED:
        return order.status
    left = remaining_units(order, live)
    if live and all(s.status is ShipmentStatus.SHIPPED for s in live) and not left:
        order.status = OrderStatus.SHIPPED
    elif any(s.status in STARTED or s.status is ShipmentStatus.SHIPPED for s in live):
        order.status = OrderStatus.FULFILLING
    elif not live:
        order.status = OrderStatus.UNFILLABLE
    elif left:
        order.status = OrderStatus.PARTIALLY_ROUTED
    else:
        order.status = OrderStatus.ROUTED
    return order.status

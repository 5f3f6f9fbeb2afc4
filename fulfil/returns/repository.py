"""Queries on returns, and on what an order delivered and got back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from fulfil.models import Handover, Order, OrderLine, Return, ReturnLine, RfidTag, Shipment, ShipmentLine, ShipmentStatus
from rfid.epc.gs1 import normalise_gtin
from rfid.epc.model import EpcError

# A shipment's units reached the customer: the parcel was delivered home, or handed over at a pickup store.
DELIVERED: frozenset[ShipmentStatus] = frozenset({ShipmentStatus.SHIPPED, ShipmentStatus.COLLECTED})


def get(session: Session, return_id: int) -> Return | None:
    """A return with its lines."""
    return session.scalars(select(Return).where(Return.id == return_id).options(selectinload(Return.lines))).one_or_none()


def get_by_external_id(session: Session, external_id: str) -> Return | None:
    """A return by the client's id, with its lines (read afresh: a concurrent request may just have made it)."""
    stmt = select(Return).where(Return.external_id == external_id).options(selectinload(Return.lines))
    return session.scalars(stmt.execution_options(populate_existing=True)).one_or_none()


def list_(session: Session, *, order_id: int | None, location_id: str | None, limit: int, offset: int) -> Sequence[Return]:
    """Returns, newest first, with their lines."""
    stmt = select(Return).order_by(Return.id.desc()).limit(limit).offset(offset).options(selectinload(Return.lines))
    if order_id is not None:
        stmt = stmt.where(Return.order_id == order_id)
    if location_id is not None:
        stmt = stmt.where(Return.location_id == location_id)
    return session.scalars(stmt).all()


def order_for_return(session: Session, order_id: int) -> Order | None:
    """An order with its lines, row-locked (PostgreSQL; SQLite writers are serialised anyway): returns of one order
    are judged one after the other, so two of them never both take the last returnable unit."""
    session.flush()
    stmt = (
        select(Order).where(Order.id == order_id).with_for_update(of=Order)
        .options(selectinload(Order.lines)).execution_options(populate_existing=True)
    )
    return session.scalars(stmt).one_or_none()


def order_id_by_pickup_code(session: Session, code: str) -> int | None:
    """The order a pickup code names."""
    return session.scalar(select(Order.id).where(Order.pickup_code == code))


def tag(session: Session, epc: str) -> RfidTag | None:
    """A tag as it is in the database now."""
    return session.get(RfidTag, epc, populate_existing=True)


def shipment_order(session: Session, shipment_id: int) -> int | None:
    """The order a shipment belongs to."""
    return session.scalar(select(Shipment.order_id).where(Shipment.id == shipment_id))


def shipment_line_of(session: Session, shipment_id: int, gtin: str) -> int | None:
    """The order line a shipment carried units of a product for."""
    return session.scalar(select(ShipmentLine.order_line_id).where(ShipmentLine.shipment_id == shipment_id, ShipmentLine.gtin == gtin).limit(1))


def delivered(session: Session, order_id: int) -> dict[int, int]:
    """Units of each order line that reached the customer: in shipped or collected shipments, less what the customer
    refused at a pickup handover (those never left the store)."""
    rows = session.execute(
        select(Shipment.id, ShipmentLine.order_line_id, ShipmentLine.gtin, ShipmentLine.qty)
        .join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id)
        .where(Shipment.order_id == order_id, Shipment.status.in_([s.value for s in DELIVERED]))
    ).all()
    units: dict[int, int] = defaultdict(int)
    line_of: dict[tuple[int, str], int] = {}
    for shipment_id, order_line_id, gtin, qty in rows:
        units[order_line_id] += qty
        line_of[(shipment_id, gtin)] = order_line_id
    if not rows:
        return {}
    shipment_ids = sorted({shipment_id for shipment_id, *_ in rows})
    for shipment_id, refused in session.execute(select(Handover.shipment_id, Handover.refused).where(Handover.shipment_id.in_(shipment_ids))):
        for item in refused or []:
            refused_line = line_of.get((shipment_id, _gtin14(item.get("gtin"))))
            if refused_line is not None:
                units[refused_line] -= int(item.get("qty") or 0)
    return {line: max(qty, 0) for line, qty in units.items()}


def _gtin14(value: object) -> str:
    """A GTIN as stored (GTIN-14), whatever length a handover recorded it in."""
    try:
        return normalise_gtin(str(value))
    except EpcError:
        return str(value)


def returned(session: Session, order_id: int) -> dict[int, int]:
    """Units of each order line already returned, any grade."""
    stmt = (
        select(ReturnLine.order_line_id, func.sum(ReturnLine.qty))
        .join(OrderLine, OrderLine.id == ReturnLine.order_line_id)
        .where(OrderLine.order_id == order_id)
        .group_by(ReturnLine.order_line_id)
    )
    return {line: int(qty) for line, qty in session.execute(stmt)}


def returned_epc(session: Session, epc: str, order_line_id: int | None = None) -> ReturnLine | None:
    """The newest return line of an EPC (of one order line, when given)."""
    stmt = select(ReturnLine).where(ReturnLine.epc == epc)
    if order_line_id is not None:
        stmt = stmt.where(ReturnLine.order_line_id == order_line_id)
    return session.scalars(stmt.order_by(ReturnLine.id.desc()).limit(1)).first()


def line_numbers(session: Session, order_line_ids: set[int]) -> dict[int, int]:
    """order line id -> its line number."""
    if not order_line_ids:
        return {}
    return {row.id: row.line_no for row in session.execute(select(OrderLine.id, OrderLine.line_no).where(OrderLine.id.in_(order_line_ids)))}


def order_external_ids(session: Session, order_ids: set[int]) -> dict[int, str]:
    """order id -> the client's id of it."""
    if not order_ids:
        return {}
    return {row.id: row.external_id for row in session.execute(select(Order.id, Order.external_id).where(Order.id.in_(order_ids)))}

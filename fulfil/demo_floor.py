"""The demo's store floor (`fulfil serve --demo`, fulfil.demo_readers): what a pack station's antenna would see, which
tags left their store, and an order always waiting in the demo store, so the store app can be tried end to end."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.config import Settings
from fulfil.models import Order, RfidTag, Role, Shipment, ShipmentStatus, StockLevel, TagState
from fulfil.orders import service as orders
from fulfil.orders.schemas import OrderCreate
from fulfil.routing_runs import service as routing
from fulfil.shipments import verification
from rfid.epc import encode_sscc96

DEMO = Principal(token_id=0, name="demo", role=Role.OPS, location_id=None)
# Tags still in a store (read where they lie); the others left it: shipped, sold, missing.
IN_THE_STORE = (TagState.IN_STOCK, TagState.RESERVED, TagState.PICKED, TagState.PACKED, TagState.QUARANTINED)
OPEN_WORK = (ShipmentStatus.ASSIGNED, ShipmentStatus.PICKING, ShipmentStatus.PICKED, ShipmentStatus.PACKED, ShipmentStatus.VERIFIED)


def pack_table(session: Session, location: str, station: str, sscc_prefix: str) -> list[str]:
    """The EPCs on the pack table of a station: for the parcel being packed there, tagged units of each of its products
    in the store (as many as the line wants, those already packed for it first) and the parcel's own SSCC tag."""
    packing = verification.packing_at(session, location, station)
    if packing is None:
        return []
    shipment, parcel = packing
    seen: list[str] = []
    for line in shipment.lines:
        tags = session.scalars(
            select(RfidTag.epc).where(RfidTag.location_id == location, RfidTag.gtin == line.gtin, RfidTag.state.in_([TagState.IN_STOCK, TagState.PACKED]))
            .order_by((RfidTag.shipment_id == shipment.id).desc(), RfidTag.epc).limit(line.qty)
        )
        seen += [epc for epc in tags if epc not in seen]
    if parcel is not None:
        seen.append(encode_sscc96(parcel.sscc, len(sscc_prefix)))
    return seen


def left_the_store(session: Session, epcs: Iterable[str]) -> set[str]:
    """Which of these tags are no longer in any store (shipped, sold, missing): readers do not see them any more."""
    wanted = list(epcs)
    gone: set[str] = set()
    for start in range(0, len(wanted), 500):
        gone |= set(session.scalars(select(RfidTag.epc).where(RfidTag.epc.in_(wanted[start:start + 500]), RfidTag.state.not_in(IN_THE_STORE))))
    return gone


def keep_an_order_waiting(session: Session, location: str, settings: Settings, ship_to: dict[str, Any], prefix: str, limit: int) -> str | None:
    """When the store has no order to prepare, place one (home delivery of one unit each of two products it holds
    tagged and available) and have it served there; its external id, or None when nothing was placed."""
    if session.scalar(select(Shipment.id).where(Shipment.location_id == location, Shipment.status.in_(OPEN_WORK)).limit(1)) is not None:
        return None
    placed = session.scalar(select(func.count()).select_from(Order).where(Order.external_id.like(f"{prefix}%"))) or 0
    if placed >= limit:
        return None
    available = StockLevel.on_hand - StockLevel.reserved - StockLevel.safety
    gtins = list(session.scalars(
        select(RfidTag.gtin).join(StockLevel, (StockLevel.location_id == RfidTag.location_id) & (StockLevel.gtin == RfidTag.gtin))
        .where(RfidTag.location_id == location, RfidTag.state == TagState.IN_STOCK, available >= 1)
        .group_by(RfidTag.gtin).order_by(RfidTag.gtin).limit(2)
    ))
    if len(gtins) < 2:
        return None
    external_id = f"{prefix}{placed + 1}"
    intake = orders.take_in(session, OrderCreate(external_id=external_id, channel="web", ship_to=ship_to, lines=[{"gtin": g, "qty": 1} for g in gtins]), DEMO, settings)
    session.flush()
    served = set(session.scalars(select(Shipment.location_id).where(Shipment.order_id == intake.order.id, Shipment.status.in_(OPEN_WORK))))
    if served != {location}:
        routing.reroute(session, intake.order.id, settings, DEMO.label, exclude=set(), only=location)
    return external_id

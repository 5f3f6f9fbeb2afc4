"""Orders that reached their customer, made through the real workflow (intake, routing, pick, pack, RFID verdict at the
pack station, ship; or ready and handed over at the pickup store) so returns are tested against books the service
itself wrote."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.config import Settings
from fulfil.models import RfidTag, Role, Shipment, StockCause, TagState
from fulfil.orders.schemas import OrderCreate
from fulfil.orders.service import create_order
from fulfil.pickups import handover
from fulfil.pickups import service as pickups
from fulfil.pickups.schemas import HandoverRequest
from fulfil.routing_runs.service import route_new_order
from fulfil.shipments import verification, workflow
from fulfil.stock import service as stock
from rfid.epc import encode_sgtin96
from tests.factories import next_number

OPS = Principal(token_id=0, name="test", role=Role.OPS, location_id=None)
STATION = "pack-station-1"


@dataclass
class Delivered:
    order_id: int
    external_id: str
    shipment_id: int
    epcs: dict[str, list[str]] = field(default_factory=dict)  # gtin -> the EPCs that left with the order


def tag_stock(session: Session, store: str, gtin: str, qty: int) -> list[str]:
    """`qty` tagged units of a product in stock at a store: the tags and the on-hand units they stand for."""
    serials = [next_number() for _ in range(qty)]
    epcs = [encode_sgtin96(gtin, serial, 7) for serial in serials]
    session.add_all(RfidTag(epc=epc, gtin=gtin, serial=str(serial), location_id=store, state=TagState.IN_STOCK, version=1) for epc, serial in zip(epcs, serials))
    stock.adjust(session, store, gtin, stock.Cause(StockCause.SYSTEM, actor="test", reason="receipt"), delta=qty)
    session.flush()
    return epcs


def deliver(
    session: Session, store: str, lines: list[tuple[str, int, str | None]], *, currency: str | None = "EUR", pickup: bool = False,
    external_id: str | None = None,
) -> Delivered:
    """An order of `lines` (gtin, qty, unit price) served by `store` from tagged stock and delivered: shipped home, or
    (pickup) collected at the store. The session is committed."""
    epcs = {gtin: tag_stock(session, store, gtin, qty) for gtin, qty, _price in lines}
    external_id = external_id or f"DELIVERED-{next_number()}"
    body: dict[str, object] = {
        "external_id": external_id, "channel": "store" if pickup else "web",
        "lines": [{"gtin": g, "qty": q, **({"unit_price": p} if p is not None else {})} for g, q, p in lines],
        **({"pickup_location_id": store} if pickup else {"ship_to": {"lat": 48.86, "lon": 2.35}}),
        **({"currency": currency} if currency else {}),
    }
    order = create_order(session, OrderCreate.model_validate(body), OPS).order
    route_new_order(session, order.id, Settings(routing_batch_interval_seconds=0), "test")
    shipment_id = session.scalars(select(Shipment.id).where(Shipment.order_id == order.id)).one()
    workflow.start_picking(session, shipment_id, OPS)
    workflow.mark_picked(session, shipment_id, OPS)
    _shipment, _parcel, sscc_epc = workflow.pack(session, shipment_id, STATION, OPS, "0614141")
    session.flush()
    session.expire_all()  # as the reader's own transaction would: the shipment's parcels are read afresh
    verdict = verification.verify_station(session, store, STATION, [e for tags in epcs.values() for e in tags] + [sscc_epc])
    assert verdict is not None and verdict.complete, verdict.verdict if verdict else None
    if not pickup:
        workflow.ship(session, shipment_id, OPS)
    session.commit()
    return Delivered(order.id, external_id, shipment_id, epcs)


def collect(session: Session, delivered: Delivered, refused: dict[str, int] | None = None) -> None:
    """Hand a verified click-and-collect shipment to its customer through the real flow (ready, then a handover by an
    ops override), the customer refusing `refused` units (gtin -> qty), whose tags are named: those units go back
    into the store's stock and their tags are in stock again; the rest is collected and sold."""
    refused = refused or {}
    pickups.ready(session, delivered.shipment_id, OPS)
    request = HandoverRequest.model_validate({
        "override_reason": "identity checked at the counter (test)",
        "refused": [{"gtin": g, "qty": q, "reason": "too small", "epcs": delivered.epcs[g][:q]} for g, q in refused.items()],
    })
    handover.hand_over(session, delivered.shipment_id, request, OPS)
    session.commit()

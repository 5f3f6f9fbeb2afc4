"""Ship-to-store arrivals: a parcel in transit reaches its pickup store, scanned by shipment id or SSCC at the
store's app, or read by RFID (its SSCC-96 tag or an item tag) in a receiving zone there.

On arrival (in_transit -> received) its units enter the pickup store's stock already reserved: one receipt per
line with on-hand and reserved both +qty, keyed `receive:<shipment>:<line>`, so no walk-in can buy them; the
shipment is held there from then on, its parcel is received and its tags are packed at the store. Exactly once:
the order and shipment rows are locked and the status re-checked, so a retried scan, a second reader or a second
worker finds it received and changes nothing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.errors import Conflict, NotFound
from fulfil.models import Order, ParcelStatus, Shipment, ShipmentStatus, StockCause, StockEventKind, TagState
from fulfil.pickups import repository
from fulfil.pickups.service import locked, refresh_order
from fulfil.shipments import service as shipments
from fulfil.shipments.states import advance
from fulfil.stock import service as stock
from rfid.epc.gs1 import gtin_check_digit

S = ShipmentStatus


def normalise_sscc(scanned: str) -> str:
    """The 18 digits of a scanned SSCC (fulfil.pickups.schemas.SSCC_INPUT_PATTERN): without the ]C1 symbology
    identifier and the (00) application identifier."""
    text = scanned.removeprefix("]C1")
    if text.startswith("(00)"):
        text = text[4:]
    elif len(text) == 20 and text.startswith("00"):
        text = text[2:]
    return text


def receive(session: Session, shipment_id: int, principal: Principal) -> Shipment:
    """The pickup store has the parcel (scanned by the store app): in_transit -> received. Receiving it again
    changes nothing."""
    order, shipment = locked(session, shipment_id, principal)
    if shipment.location_id == shipment.pickup_location_id:
        raise Conflict(
            f"shipment {shipment.id} was packed at its pickup store: there is nothing to receive; mark it ready for pickup",
            details={"shipment_id": shipment.id}, code="collected_here",
        )
    if shipment.status is S.IN_TRANSIT:
        arrive(session, order, shipment, stock.Cause(StockCause.ORDER, actor=principal.label, order_id=order.id, shipment_id=shipment.id,
                                                     reason="ship-to-store arrival"))
    elif shipment.held_at != shipment.pickup_location_id:
        advance(shipment, S.RECEIVED)  # not shipped yet (or never will be): refused, naming what is allowed
    return shipment


def receive_sscc(session: Session, scanned: str, principal: Principal) -> Shipment:
    """Receive the parcel whose label was scanned (its SSCC); a parcel the caller may not see looks missing."""
    sscc = normalise_sscc(scanned)
    shipment_id = repository.shipment_of_parcel(session, sscc)
    if shipment_id is None:
        hint = "" if gtin_check_digit(sscc[:-1]) == int(sscc[-1]) else " (its check digit is wrong: scan the label again)"
        raise NotFound(f"no parcel has SSCC {sscc}{hint}", details={"sscc": sscc})
    shipments.get(session, shipment_id, principal)  # 404 for a parcel of another store's
    return receive(session, shipment_id, principal)


def read_at(session: Session, shipment_id: int | None, location_id: str, zone: str, *, epc: str, reader: str | None) -> bool | None:
    """A tag of a shipment (the parcel's or an item's) read in a receiving zone of `location_id`: True when this read
    received the parcel there, False when it had just been received (a concurrent read), None when the shipment is
    no ship-to-store parcel on its way to that store (the caller decides what the read is)."""
    if not repository.in_transit_to(session, shipment_id, location_id):
        return None
    assert shipment_id is not None
    order, shipment = locked(session, shipment_id, None)
    if shipment.status is not S.IN_TRANSIT or shipment.pickup_location_id != location_id:
        return False
    cause = stock.Cause(StockCause.READER, actor=f"reader:{reader}" if reader else "reader", order_id=order.id, shipment_id=shipment.id,
                        reader_id=reader, zone=zone, epc=epc, reason="ship-to-store arrival")
    arrive(session, order, shipment, cause, zone=zone)
    return True


def parcel_shipment(session: Session, sscc: str) -> int | None:
    """The shipment a parcel (by its SSCC) carries, if Fulfil issued that SSCC."""
    return repository.shipment_of_parcel(session, sscc)


def arrive(session: Session, order: Order, shipment: Shipment, cause: stock.Cause, *, zone: str | None = None) -> None:
    """The parcel is at its pickup store (order and shipment locked, in transit): its units enter the store's stock
    reserved for it, and everything about it is at the store now."""
    store = shipment.pickup_location_id
    assert store is not None and shipment.status is S.IN_TRANSIT
    for line in shipment.lines:
        stock.move(session, store, line.gtin, StockEventKind.RECEIPT, cause, on_hand_delta=line.qty, reserved_delta=line.qty,
                   idempotency_key=f"receive:{shipment.id}:{line.id}")
    shipment.held_at = store
    advance(shipment, S.RECEIVED)
    for parcel in shipment.parcels:
        parcel.status = ParcelStatus.RECEIVED
    repository.set_tags(session, repository.tags_of(session, shipment.id, [TagState.SHIPPED]), state=TagState.PACKED, location_id=store, zone=zone)
    refresh_order(session, order)

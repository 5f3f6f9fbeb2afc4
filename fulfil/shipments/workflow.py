"""The store's work on a shipment: start picking, picked, packed at a station (a parcel with an SSCC), shipped."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.deps import check_location
from fulfil.errors import Conflict, InvalidInput
from fulfil.models import Order, Parcel, ParcelStatus, RfidTag, Shipment, ShipmentStatus, StockCause, StockEventKind, TagState
from fulfil.orders.on_hold import check_not_held
from fulfil.routing_runs import assign
from fulfil.routing_runs import repository as routing_repository
from fulfil.shipments import scans, service
from fulfil.shipments.schemas import PACK_STATION
from fulfil.shipments.states import advance
from fulfil.stock import service as stock
from rfid.epc import encode_sscc96
from rfid.epc.gs1 import check_key, gtin_check_digit
from rfid.epc.model import EpcError


def _mine(session: Session, shipment_id: int, principal: Principal) -> Shipment:
    return service.get_to_work(session, shipment_id, principal)


def _not_held(session: Session, shipment: Shipment) -> None:
    order = session.get(Order, shipment.order_id)
    assert order is not None
    check_not_held(order)


def start_picking(session: Session, shipment_id: int, principal: Principal) -> Shipment:
    """A picker takes the shipment: it can no longer be moved by re-optimisation, and it is claimed for them
    (fulfil.shipments.scans). Starting again what they already hold (another handheld, a retry) changes nothing, one
    being picked that nobody holds (released) is taken over where it stands, one another picker holds is 409
    `claimed`."""
    shipment = _mine(session, shipment_id, principal)
    if shipment.status is ShipmentStatus.PICKING:  # held by the caller (nothing changes), by nobody (taken over), or 409
        scans.claim(session, shipment, principal)
        return shipment
    _not_held(session, shipment)
    advance(shipment, ShipmentStatus.PICKING)
    scans.claim(session, shipment, principal)
    _refresh_order(session, shipment)
    return shipment


def mark_picked(session: Session, shipment_id: int, principal: Principal) -> Shipment:
    """Everything is off the shelf (units that could not be were split off first: fulfil.shipments.short_picks)."""
    shipment = _mine(session, shipment_id, principal)
    advance(shipment, ShipmentStatus.PICKED)
    for line in shipment.lines:
        line.picked_qty = line.qty
    return shipment


def unpack(session: Session, shipment: Shipment, reason: str) -> None:
    """Units were taken out of a packed or verified shipment (cancelled, short-picked): its parcel's RFID verdict no
    longer holds. It goes back to picked, to be packed and verified again; its tags leave it until the new verdict
    and its parcel is open again. Nothing happens to a shipment not packed yet."""
    if shipment.status not in (ShipmentStatus.PACKED, ShipmentStatus.VERIFIED):
        return
    service.free_tags(session, shipment)
    for parcel in shipment.parcels:
        if parcel.status in (ParcelStatus.SEALED, ParcelStatus.VERIFIED):
            parcel.status = ParcelStatus.OPEN
    advance(shipment, ShipmentStatus.PICKED, reason=reason)


def sscc_for(company_prefix: str, shipment_id: int, parcel_number: int, extension: int = 0) -> str:
    """A deterministic SSCC-18: the extension digit, the company prefix, the shipment id and parcel number, check digit."""
    width = 16 - len(company_prefix)
    reference = f"{shipment_id % 10 ** (width - 1):0{width - 1}d}{parcel_number % 10}"
    body = str(extension) + company_prefix + reference
    return body + str(gtin_check_digit(body))


def _in_use(session: Session, sscc: str) -> bool:
    return session.scalar(select(Parcel.id).where(Parcel.sscc == sscc).limit(1)) is not None


def printed_sscc(session: Session, sscc: str, company_prefix: str) -> str:
    """A pre-printed parcel label's SSCC, checked before a parcel takes it: 18 digits with a right check digit (422
    `invalid_input`), from this company's prefix (422: a carrier's or a supplier's label is not ours to reuse), and on
    no parcel yet (409 `sscc_in_use`). Says nothing of the parcel that has it: it may be another store's."""
    try:
        check_key(sscc, 18, "SSCC")
    except EpcError as exc:
        raise InvalidInput(str(exc), details=[{"field": "body.sscc", "message": str(exc)}]) from None
    if sscc[1:1 + len(company_prefix)] != company_prefix:
        message = f"SSCC {sscc} is not from this company's prefix {company_prefix}: use the company's own parcel labels"
        raise InvalidInput(message, details=[{"field": "body.sscc", "message": "another company's prefix"}])
    if _in_use(session, sscc):
        raise Conflict(f"SSCC {sscc} is on another parcel already: take a new label", details={"sscc": sscc}, code="sscc_in_use")
    return sscc


def pack(session: Session, shipment_id: int, station: str, principal: Principal, company_prefix: str, sscc: str | None = None) -> tuple[Shipment, Parcel, str]:
    """Put the picked items in a parcel at a pack station; RFID verifies it there. Returns the parcel and its SSCC-96 EPC.

    The parcel's SSCC is the pre-printed label's when one was scanned (`sscc`, checked by `printed_sscc`), else one is
    allocated: extension digit 0, unless a pre-printed label took that number already (then the next free extension
    digit, so the two never collide)."""
    if not PACK_STATION.fullmatch(station):
        raise InvalidInput("station must be a pack-station zone, e.g. pack-station-1", details=[{"field": "body.station", "message": "not a pack station"}])
    shipment = _mine(session, shipment_id, principal)
    if sscc is not None:
        sscc = printed_sscc(session, sscc, company_prefix)
    advance(shipment, ShipmentStatus.PACKED)
    shipment.pack_station = station
    if sscc is None:
        number = len(shipment.parcels) + 1
        sscc = next((c for c in (sscc_for(company_prefix, shipment.id, number, x) for x in range(10)) if not _in_use(session, c)), None)
        if sscc is None:
            raise Conflict(f"no free SSCC left for parcel {number} of shipment {shipment.id}: scan a pre-printed label", code="sscc_in_use")
    parcel = Parcel(sscc=sscc, shipment_id=shipment.id)
    session.add(parcel)
    session.flush()
    return shipment, parcel, encode_sscc96(parcel.sscc, len(company_prefix))


def close_unverified(session: Session, shipment_id: int, reason: str, principal: Principal) -> Shipment:
    """Close a packed parcel RFID has not verified (a tag that cannot be read, a pack-station reader down), on the
    word of the person packing it: packed -> verified, the reason and who gave it recorded in the shipment's journal
    (`shipment.verified` with `override: <reason>`, actor in the event's data). Its tags stay as they were (only a
    complete verdict packs them). Again on a verified shipment: changes nothing."""
    shipment = _mine(session, shipment_id, principal)
    if shipment.status is ShipmentStatus.VERIFIED:
        return shipment
    if shipment.status is not ShipmentStatus.PACKED:
        raise Conflict(
            f"shipment {shipment.id} is {shipment.status.value}: only a packed parcel can be closed without a complete verdict",
            details={"shipment_id": shipment.id, "status": shipment.status.value}, code="not_packed",
        )
    advance(shipment, ShipmentStatus.VERIFIED, reason=f"override by {principal.label}: {reason}")
    parcel = session.scalars(select(Parcel).where(Parcel.shipment_id == shipment.id).order_by(Parcel.id.desc()).limit(1)).first()
    if parcel is not None:
        parcel.status = ParcelStatus.VERIFIED
    session.flush()
    return shipment


def ship(session: Session, shipment_id: int, principal: Principal) -> Shipment:
    """The verified parcel leaves: reserved stock is consumed, its tags and parcel become shipped. A ship-to-store
    parcel goes in transit to its pickup store (received there: fulfil.pickups.arrival); a parcel collected where
    it was packed never ships (it is made ready for pickup)."""
    shipment = _mine(session, shipment_id, principal)
    if shipment.pickup_location_id is not None and shipment.pickup_location_id == shipment.location_id:
        raise Conflict(
            f"shipment {shipment.id} is collected at {shipment.location_id}, where it was packed: it does not ship; mark it ready "
            f"for pickup (POST /api/v1/shipments/{shipment.id}/ready)",
            details={"shipment_id": shipment.id, "pickup_location_id": shipment.pickup_location_id}, code="collected_here",
        )
    _not_held(session, shipment)
    advance(shipment, ShipmentStatus.IN_TRANSIT if shipment.pickup_location_id is not None else ShipmentStatus.SHIPPED)
    for line in shipment.lines:
        cause = stock.Cause(StockCause.ORDER, actor=principal.label, order_id=shipment.order_id, shipment_id=shipment.id, reason="shipped")
        stock.consume_reserved(session, shipment.held_at, line.gtin, line.qty, StockEventKind.SHIPMENT, cause, idempotency_key=f"ship:{shipment.id}:{line.id}")
    session.execute(update(RfidTag).where(RfidTag.shipment_id == shipment.id).values(state=TagState.SHIPPED, version=RfidTag.version + 1, zone=None)
                    .execution_options(synchronize_session=False))
    # The verified parcel leaves; one opened again when units were taken out of it (unpack) was replaced and stays.
    for parcel in session.scalars(select(Parcel).where(Parcel.shipment_id == shipment.id, Parcel.status == ParcelStatus.VERIFIED)):
        parcel.status = ParcelStatus.SHIPPED
    _refresh_order(session, shipment)
    return shipment


def _refresh_order(session: Session, shipment: Shipment) -> None:
    session.flush()
    order = routing_repository.order_with_shipments(session, shipment.order_id)
    assert order is not None
    assign.refresh_status(order, order.shipments)
    session.flush()

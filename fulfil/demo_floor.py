"""The demo's store floor (`fulfil demo`, fulfil.demo_network): what a pack station's antenna would see while a
person packs a parcel there in the store app."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.models import RfidTag, TagState
from fulfil.shipments import verification
from rfid.epc import encode_sscc96


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

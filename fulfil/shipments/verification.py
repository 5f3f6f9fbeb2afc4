"""RFID verification of a parcel at its pack station: the tags seen there against the shipment's lines."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from fulfil.models import Parcel, ParcelStatus, ParcelVerification, RfidTag, Shipment, ShipmentStatus, TagState
from fulfil.shipments.states import advance
from rfid.verification import ForeignTag, Verdict, verify_parcel

# Why a quarantined unit on the pack table cannot complete a parcel (it is damaged, not sellable stock).
QUARANTINED_REASON = "quarantined (damaged, not sellable): take it out of the parcel"


def verdict_dict(verdict: Verdict) -> dict[str, Any]:
    """A verdict as JSON: complete or not, and each problem with its tags."""
    def line(lc: Any) -> dict[str, Any]:
        return {"gtin": lc.gtin, "expected": lc.expected, "seen": lc.seen, "epcs": sorted(lc.epcs)}

    return {
        "complete": verdict.complete,
        "missing": [line(x) for x in verdict.missing],
        "wrong_quantity": [line(x) for x in verdict.wrong_quantity],
        "extra": [line(x) for x in verdict.extra],
        "foreign": [{"epc": f.epc, "reason": f.reason} for f in verdict.foreign],
        "cases": sorted(verdict.cases),
        "parcel_tag_seen": verdict.parcel_tag_seen,
    }


def packing_at(session: Session, location: str, station: str) -> tuple[Shipment, Parcel | None] | None:
    """The shipment being packed at a station and its parcel (the one verdicts judge), or None."""
    shipment = session.scalars(
        select(Shipment).where(Shipment.location_id == location, Shipment.pack_station == station, Shipment.status == ShipmentStatus.PACKED)
        .order_by(Shipment.status_changed_at.desc()).limit(1).options(selectinload(Shipment.lines), selectinload(Shipment.parcels))
    ).first()
    if shipment is None:
        return None
    return shipment, shipment.parcels[-1] if shipment.parcels else None


def verify_station(session: Session, location: str, station: str, epcs: Iterable[str]) -> ParcelVerification | None:
    """Judge the parcel being packed at a station; record the verdict when it changed; verified parcels move on."""
    packing = packing_at(session, location, station)
    if packing is None:
        return None
    shipment, parcel = packing
    expected: dict[str, int] = defaultdict(int)
    for sl in shipment.lines:
        expected[sl.gtin] += sl.qty
    seen = sorted({e.strip().upper() for e in epcs})
    # A quarantined unit is no item of any parcel: it is not counted, and the parcel is incomplete until it is taken out.
    quarantined = sorted(session.scalars(select(RfidTag.epc).where(RfidTag.epc.in_(seen), RfidTag.state == TagState.QUARANTINED))) if seen else []
    verdict = verify_parcel(dict(expected), [e for e in seen if e not in quarantined], parcel_sscc=parcel.sscc if parcel else None)
    if quarantined:
        verdict = replace(verdict, foreign=verdict.foreign + tuple(ForeignTag(epc, QUARANTINED_REASON) for epc in quarantined))
    body = verdict_dict(verdict)
    # Unchanged since the last verdict on this parcel: nothing to record. A shipment packed again (units taken out of
    # it) has a new parcel, whose verdict counts even when it reads like the old one's.
    last = session.scalars(
        select(ParcelVerification).where(ParcelVerification.shipment_id == shipment.id, ParcelVerification.parcel_id == (parcel.id if parcel else None))
        .order_by(ParcelVerification.id.desc()).limit(1)
    ).first()
    if last is not None and last.verdict == body:
        return None
    row = ParcelVerification(shipment_id=shipment.id, parcel_id=parcel.id if parcel else None, location_id=location, station=station, complete=verdict.complete, verdict=body)
    session.add(row)
    if verdict.complete:
        advance(shipment, ShipmentStatus.VERIFIED)
        if parcel is not None:
            parcel.status = ParcelStatus.VERIFIED
        session.execute(update(RfidTag).where(RfidTag.epc.in_(list(verdict.item_epcs))).values(state=TagState.PACKED, shipment_id=shipment.id, version=RfidTag.version + 1)
                        .execution_options(synchronize_session=False))
    session.flush()
    return row


def latest(session: Session, shipment_id: int) -> ParcelVerification | None:
    """The newest verdict on a shipment."""
    return session.scalars(select(ParcelVerification).where(ParcelVerification.shipment_id == shipment_id).order_by(ParcelVerification.id.desc()).limit(1)).first()


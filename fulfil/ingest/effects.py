"""Smoothed facts -> tag states and stock movements, each applied exactly once.

Every stock-changing transition of a tag is a conditional UPDATE on its `version`; the stock event
it causes carries the key `tag:<epc>:v<new version>`. A redelivered message, a replayed capture or
a second worker that reaches the same conclusion finds the tag already moved (version changed or
state already there) and changes nothing."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fulfil.config import get_settings
from fulfil.errors import InsufficientStock
from fulfil.ingest.bulk import receive_new_tags
from fulfil.ingest.outcomes import Effect, Outcome, Site
from fulfil.models import Parcel, Product, RfidTag, StockCause, StockEventKind, TagState
from fulfil.pickups import arrival
from fulfil.shipments.service import give_up_a_unit, route_again
from fulfil.shipments.verification import packing_at, verify_station
from fulfil.stock import service as stock
from fulfil.tags.repository import LEFT_STOCK, record_anomaly, transition
from rfid.epc import SSCC_96, decode_epc
from rfid.facts import Direction, Fact, PortalCrossed, TagArrived, TagDeparted, TagMoved
from rfid.verification import TagKind, classify_tag

log = logging.getLogger(__name__)


def apply_fact(session: Session, fact: Fact, site: Site, reader: str | None = None) -> list[Effect]:
    """Apply one fact; a change at a pack station also re-judges the parcel being packed there."""
    effects: list[Effect] = []
    touched: str | None = None
    if isinstance(fact, TagArrived):
        effects.append(_arrived(session, fact.epc, fact.zone, fact.at, site, reader))
        touched = fact.zone
    elif isinstance(fact, TagMoved):
        effects.append(_arrived(session, fact.epc, fact.to_zone, fact.at, site, reader))
        touched = fact.to_zone
        if site.zones[fact.from_zone][2] == "pack-station":
            effects.extend(_verify(session, fact.from_zone, site))
    elif isinstance(fact, PortalCrossed):
        effects.append(_crossed(session, fact, site, reader))
    elif isinstance(fact, TagDeparted):
        location, zone, _kind = site.zones[fact.zone]
        effects.append(Effect(Outcome.IGNORED, fact.epc, location, zone, detail="departed"))
        touched = fact.zone
    if touched is not None and site.zones[touched][2] == "pack-station":
        effects.extend(_verify(session, touched, site))
    return effects


def _verify(session: Session, key: str, site: Site) -> list[Effect]:
    location, zone, _kind = site.zones[key]
    row = verify_station(session, location, zone, site.tags_in(key))
    if row is None:
        return []
    return [Effect(Outcome.VERDICT, "", location, zone, detail="complete" if row.complete else "incomplete", shipment_id=row.shipment_id)]


def _unregistered(session: Session, epc: str, key: str, site: Site) -> Effect | None:
    """What a tag Fulfil has not registered is, by rfid.verification's one definition (the same verdicts use);
    None for an item of a catalogued product (the caller decides). The parcel in question is the one being
    packed at a pack station (the one its verdict judges); elsewhere, or when nothing is being packed there,
    the parcel (if any) Fulfil issued this SSCC to."""
    location, zone, kind = site.zones[key]
    decoded = decode_epc(epc)
    own: str | None = None
    packing = packing_at(session, location, zone) if kind == "pack-station" and decoded.scheme == SSCC_96 else None
    if packing is not None:
        own = packing[1].sscc if packing[1] is not None else None
    elif decoded.scheme == SSCC_96:
        own = session.scalar(select(Parcel.sscc).where(Parcel.sscc == decoded.sscc))
    tag = classify_tag(decoded, own)
    if tag.kind is TagKind.FOREIGN:
        return Effect(Outcome.FOREIGN, epc, location, zone, detail=tag.reason)
    if tag.kind is TagKind.PARCEL:
        return Effect(Outcome.IGNORED, epc, location, zone, detail="the parcel's own tag")
    if tag.kind is TagKind.CASE:
        return Effect(Outcome.IGNORED, epc, location, zone, tag.gtin, detail="case tag, not counted")
    if session.get(Product, tag.gtin) is None:
        return Effect(Outcome.UNCATALOGUED, epc, location, zone, tag.gtin, detail="item of a product not in the catalogue")
    return None


def _tag(session: Session, epc: str) -> RfidTag | None:
    return session.get(RfidTag, epc, populate_existing=True)


def _cause(epc: str, reader: str | None, reason: str, location_zone: str) -> stock.Cause:
    return stock.Cause(StockCause.READER, actor=f"reader:{reader}" if reader else "reader", reader_id=reader, zone=location_zone, epc=epc, reason=reason)


def _arrived(session: Session, epc: str, key: str, at: datetime, site: Site, reader: str | None) -> Effect:
    location, zone, kind = site.zones[key]
    tag = _tag(session, epc)
    if tag is None:
        if kind == "receiving":
            # The receipt rule lives in one place, the bulk path; a single fact is a batch of one.
            received, _handled = receive_new_tags(session, [(TagArrived(epc, key, at), reader)], site)
            if received:
                return received[0]
            decoded = decode_epc(epc)
            if decoded.scheme == SSCC_96 and decoded.sscc:  # a parcel's own tag: a ship-to-store parcel arriving at its pickup store?
                parcel = _ship_to_store(session, arrival.parcel_shipment(session, decoded.sscc), epc, None, location, zone, reader)
                if parcel is not None:
                    return parcel
        what = _unregistered(session, epc, key, site)
        if what is not None:
            return what
        if kind == "receiving":
            return Effect(Outcome.DUPLICATE, epc, location, zone, detail="registered by another worker first")
        return Effect(Outcome.IGNORED, epc, location, zone, decode_epc(epc).gtin, detail="unregistered item outside receiving")
    gtin = tag.gtin
    if gtin is None:
        return Effect(Outcome.FOREIGN, epc, location, zone, detail="tag without a product")
    if tag.state is TagState.SHIPPED and kind == "receiving":
        # Shipped to this store for a customer to collect here: the parcel arrived (anywhere else it is an anomaly).
        item = _ship_to_store(session, tag.shipment_id, epc, gtin, location, zone, reader)
        if item is not None:
            return item
    if tag.state in LEFT_STOCK:
        return _anomaly(session, tag, location, zone, at, reader)
    if tag.state is TagState.IN_STOCK and tag.location_id == location:
        session.execute(update(RfidTag).where(RfidTag.epc == epc).values(zone=zone, last_seen_at=at).execution_options(synchronize_session=False))
        return Effect(Outcome.LOCATED, epc, location, zone, gtin)
    comes_back = tag.state is TagState.MISSING and tag.location_id == location
    received = kind == "receiving" and tag.state in (TagState.MISSING, TagState.IN_STOCK)
    # In stock (or missing) at another location and now here: it moved here, wherever it was seen first.
    elsewhere = tag.state in (TagState.MISSING, TagState.IN_STOCK) and tag.location_id != location
    if not (comes_back or received or elsewhere):
        if tag.location_id != location:
            # Held by a shipment of another location (picked, packed): seen here, but never silently moved here.
            session.execute(update(RfidTag).where(RfidTag.epc == epc).values(last_seen_at=at).execution_options(synchronize_session=False))
            return Effect(Outcome.IGNORED, epc, location, zone, gtin, detail=f"{tag.state.value} at {tag.location_id}: not moved")
        session.execute(update(RfidTag).where(RfidTag.epc == epc).values(zone=zone, last_seen_at=at).execution_options(synchronize_session=False))
        return Effect(Outcome.LOCATED, epc, location, zone, gtin)
    previous_location, previous_state = tag.location_id, tag.state
    version = transition(session, tag, state=TagState.IN_STOCK, location_id=location, zone=zone, last_seen_at=at)
    if version is None:
        return Effect(Outcome.DUPLICATE, epc, location, zone, gtin)
    key_base = f"tag:{epc}:v{version}"
    if previous_state is TagState.IN_STOCK and previous_location and previous_location != location:
        _take_out(session, previous_location, gtin, StockEventKind.ADJUSTMENT, _cause(epc, reader, f"transferred to {location}", zone),
                  key_base + ":out", f"stock moved: {epc} was read at {location}", reader)
        outcome = Outcome.TRANSFERRED
    else:
        outcome = Outcome.FOUND if comes_back or kind != "receiving" else Outcome.RECEIVED
    kind_of = StockEventKind.RECEIPT if outcome is not Outcome.FOUND else StockEventKind.ADJUSTMENT
    stock.move(session, location, gtin, kind_of, _cause(epc, reader, f"rfid {outcome.value}", zone), on_hand_delta=1, idempotency_key=key_base)
    return Effect(outcome, epc, location, zone, gtin)


def _ship_to_store(session: Session, shipment_id: int | None, epc: str, gtin: str | None, location: str, zone: str,
                   reader: str | None) -> Effect | None:
    """A tag of a ship-to-store parcel read in receiving at its pickup store: the parcel is received there
    (fulfil.pickups.arrival). None when the tag is of no parcel on its way to this store."""
    arrived = arrival.read_at(session, shipment_id, location, zone, epc=epc, reader=reader)
    if arrived is None:
        return None
    outcome = Outcome.ARRIVED if arrived else Outcome.DUPLICATE
    return Effect(outcome, epc, location, zone, gtin, detail=f"ship-to-store shipment {shipment_id} received", shipment_id=shipment_id)


def _anomaly(session: Session, tag: RfidTag, location: str, zone: str, at: datetime, reader: str | None) -> Effect:
    """A sold or shipped tag seen at a location: neither moved nor counted back into stock (a reader cannot tell a
    customer return from a parcel waiting at the dock or an item carried back in); recorded once per tag version
    and location, so repeated reads count once. A return, when it comes, is a transition of its own."""
    reason = f"{tag.state.value} tag seen in {zone}: not moved, stock unchanged"
    if record_anomaly(session, tag, location_id=location, zone=zone, seen_at=at, reader_id=reader, reason=reason):
        return Effect(Outcome.ANOMALY, tag.epc, location, zone, tag.gtin, detail=reason)
    return Effect(Outcome.DUPLICATE, tag.epc, location, zone, tag.gtin, detail="anomaly already recorded")


def _crossed(session: Session, fact: PortalCrossed, site: Site, reader: str | None) -> Effect:
    location = fact.portal.rsplit("/", 1)[0]  # portals are named <location>/exit
    tag = _tag(session, fact.epc)
    if tag is None or tag.gtin is None:
        return Effect(Outcome.IGNORED, fact.epc, location, "exit", detail="unknown tag crossed the exit")
    if fact.direction is Direction.IN:
        if tag.state is TagState.MISSING and tag.location_id == location:
            return _arrived(session, fact.epc, f"{location}/exit-inner", fact.at, site, reader)
        return Effect(Outcome.IGNORED, fact.epc, location, "exit", tag.gtin, detail="came in")
    if tag.state is not TagState.IN_STOCK or tag.location_id != location:
        return Effect(Outcome.IGNORED, fact.epc, location, "exit", tag.gtin, detail=f"left while {tag.state.value}")
    lost = site.exit_policy == "loss"
    version = transition(session, tag, state=TagState.MISSING if lost else TagState.SHIPPED, zone=None, last_seen_at=fact.at)
    if version is None:
        return Effect(Outcome.DUPLICATE, fact.epc, location, "exit", tag.gtin)
    cause = _cause(fact.epc, reader, "left through the exit without a sale" if lost else "exit", "exit")
    kind = StockEventKind.LOSS if lost else StockEventKind.ADJUSTMENT
    _take_out(session, location, tag.gtin, kind, cause, f"tag:{fact.epc}:v{version}", f"stock lost: {fact.epc} left through the exit", reader)
    return Effect(Outcome.LOST if lost else Outcome.EXITED, fact.epc, location, "exit", tag.gtin)


def _take_out(session: Session, location: str, gtin: str, kind: StockEventKind, cause: stock.Cause, key: str, why: str, reader: str | None) -> None:
    """One unit physically left the location (lost, moved elsewhere): on-hand -1. When every unit there was promised
    to orders, the shipment least far along gives its units back first (the books keep no promise without stock
    behind it) and its order is routed again once the unit is gone."""
    try:
        stock.move(session, location, gtin, kind, cause, on_hand_delta=-1, idempotency_key=key)
        return
    except InsufficientStock:
        pass
    actor = f"reader:{reader or 'exit'}"
    given_up = give_up_a_unit(session, location, gtin, why, actor)
    stock.move(session, location, gtin, kind, cause, on_hand_delta=-1, idempotency_key=key)
    if given_up is not None:
        route_again(session, given_up, f"re-routed: {why} ({location})", actor, get_settings())
    log.warning("%s at %s broke a promise: shipment %s gave its units back and its order was routed again",
                why, location, given_up.id if given_up is not None else None)

"""Smoothed facts -> tag states and stock movements, each applied exactly once.

Every stock-changing transition of a tag is a conditional UPDATE on its `version`; the stock event
it causes carries the key `tag:<epc>:v<new version>`. A redelivered message, a replayed capture or
a second worker that reaches the same conclusion finds the tag already moved (version changed or
state already there) and changes nothing."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from fulfil.errors import InsufficientStock
from fulfil.ingest.bulk import receive_new_tags
from fulfil.ingest.outcomes import Effect, Outcome, Site
from fulfil.models import Product, RfidTag, StockCause, StockEventKind, TagState
from fulfil.shipments.verification import verify_station
from fulfil.stock import service as stock
from fulfil.tags.repository import transition
from rfid.epc import decode_epc
from rfid.facts import Direction, Fact, PortalCrossed, TagArrived, TagDeparted, TagMoved

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


def _gtin_of(session: Session, epc: str) -> str | None:
    decoded = decode_epc(epc)
    if decoded.scheme not in ("sgtin-96", "sgtin-198") or decoded.gtin is None:
        return None
    return decoded.gtin if session.get(Product, decoded.gtin) is not None else None


def _tag(session: Session, epc: str) -> RfidTag | None:
    return session.get(RfidTag, epc, populate_existing=True)


def _cause(epc: str, reader: str | None, reason: str, location_zone: str) -> stock.Cause:
    return stock.Cause(StockCause.READER, actor=f"reader:{reader}" if reader else "reader", reader_id=reader, zone=location_zone, epc=epc, reason=reason)


def _arrived(session: Session, epc: str, key: str, at: datetime, site: Site, reader: str | None) -> Effect:
    location, zone, kind = site.zones[key]
    tag = _tag(session, epc)
    if tag is None:
        if kind != "receiving":
            return Effect(Outcome.FOREIGN if _gtin_of(session, epc) is None else Outcome.IGNORED, epc, location, zone, detail="unregistered tag outside receiving")
        # The receipt rule lives in one place, the bulk path; a single fact is a batch of one.
        received, _handled = receive_new_tags(session, [(TagArrived(epc, key, at), reader)], site)
        if received:
            return received[0]
        if _gtin_of(session, epc) is None:
            return Effect(Outcome.FOREIGN, epc, location, zone, detail="not an SGTIN of a known product")
        return Effect(Outcome.DUPLICATE, epc, location, zone, detail="registered by another worker first")
    gtin = tag.gtin
    if gtin is None:
        return Effect(Outcome.FOREIGN, epc, location, zone, detail="tag without a product")
    if tag.state is TagState.IN_STOCK and tag.location_id == location:
        session.execute(update(RfidTag).where(RfidTag.epc == epc).values(zone=zone, last_seen_at=at).execution_options(synchronize_session=False))
        return Effect(Outcome.LOCATED, epc, location, zone, gtin)
    comes_back = tag.state is TagState.MISSING and tag.location_id == location
    received = kind == "receiving" and tag.state in (TagState.SOLD, TagState.SHIPPED, TagState.MISSING, TagState.IN_STOCK)
    if not (comes_back or received):
        session.execute(update(RfidTag).where(RfidTag.epc == epc).values(zone=zone, last_seen_at=at).execution_options(synchronize_session=False))
        return Effect(Outcome.LOCATED, epc, location, zone, gtin)
    previous_location, previous_state = tag.location_id, tag.state
    version = transition(session, tag, state=TagState.IN_STOCK, location_id=location, zone=zone, last_seen_at=at)
    if version is None:
        return Effect(Outcome.DUPLICATE, epc, location, zone, gtin)
    key_base = f"tag:{epc}:v{version}"
    if previous_state is TagState.IN_STOCK and previous_location and previous_location != location:
        stock.move(session, previous_location, gtin, StockEventKind.ADJUSTMENT, _cause(epc, reader, f"transferred to {location}", zone),
                   on_hand_delta=-1, idempotency_key=key_base + ":out")
        outcome = Outcome.TRANSFERRED
    else:
        outcome = Outcome.FOUND if comes_back else Outcome.RECEIVED
    kind_of = StockEventKind.RECEIPT if outcome is not Outcome.FOUND else StockEventKind.ADJUSTMENT
    stock.move(session, location, gtin, kind_of, _cause(epc, reader, f"rfid {outcome.value}", zone), on_hand_delta=1, idempotency_key=key_base)
    return Effect(outcome, epc, location, zone, gtin)


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
    try:
        stock.move(session, location, tag.gtin, kind, cause, on_hand_delta=-1, idempotency_key=f"tag:{fact.epc}:v{version}")
    except InsufficientStock:
        # Every unit left was promised to orders: the loss still happened, so it takes a reservation with it.
        log.warning("loss of %s at %s breaks a reservation: re-route the affected order", fact.epc, location)
        stock.move(session, location, tag.gtin, kind, cause, on_hand_delta=-1, reserved_delta=-1, idempotency_key=f"tag:{fact.epc}:v{version}")
    return Effect(Outcome.LOST if lost else Outcome.EXITED, fact.epc, location, "exit", tag.gtin)

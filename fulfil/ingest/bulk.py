"""The common case in bulk: tags never seen before arriving in a receiving zone (a delivery being unpacked).

One statement registers all of a commit's new tags (ON CONFLICT DO NOTHING RETURNING tells which this
worker registered), one guarded UPDATE per (location, GTIN) adds them to stock, one multi-row INSERT
logs an event per tag with its key `tag:<epc>:v1`. Everything else goes through effects.apply_fact."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import ColumnElement, DateTime, String, any_, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fulfil.ingest.outcomes import Effect, Outcome, Site
from fulfil.models.base import UTCDateTime, utcnow
from fulfil.models import (
    Product,
    RfidTag,
    StockCause,
    StockEvent,
    StockEventKind,
    TagState,
)
from fulfil.stock import repository as stock_repository
from fulfil.webhooks import outbox
from rfid.epc import decode_epc
from rfid.facts import Fact, PortalCrossed, TagArrived, TagMoved
from rfid.verification import TagKind, classify_tag


def _epc_in(session: Session, epcs: list[str]) -> ColumnElement[bool]:
    """`rfid_tags.epc IN (...)`; on PostgreSQL `= ANY(array)`: one parameter, not thousands in a statement that
    psycopg would have to re-parse on every commit (it only caches short statements)."""
    if session.get_bind().dialect.name == "postgresql":
        return RfidTag.epc == any_(bindparam("epcs", epcs, type_=postgresql.ARRAY(String)))
    return RfidTag.epc.in_(epcs)


_REGISTER_POSTGRESQL = text(
    "INSERT INTO rfid_tags (epc, gtin, serial, location_id, zone, state, last_seen_at, version, created_at, updated_at)"
    " SELECT u.epc, u.gtin, u.serial, u.location_id, u.zone, :state, u.last_seen_at, 1, :now, :now"
    " FROM unnest(:epcs, :gtins, :serials, :locations, :zones, :seen) AS u(epc, gtin, serial, location_id, zone, last_seen_at)"
    " ON CONFLICT DO NOTHING RETURNING epc"
).bindparams(
    *(bindparam(name, type_=postgresql.ARRAY(String)) for name in ("epcs", "gtins", "serials", "locations", "zones")),
    bindparam("seen", type_=postgresql.ARRAY(DateTime(timezone=True))),
    bindparam("state", type_=RfidTag.__table__.c.state.type),
    bindparam("now", type_=UTCDateTime()),
)

# One statement over arrays on PostgreSQL (an executemany is a round trip per tag, even pipelined).
_LOCATE_POSTGRESQL = text(
    "UPDATE rfid_tags AS t SET zone = u.zone, last_seen_at = u.seen, updated_at = :now"
    " FROM unnest(:epcs, :zones, :seen) AS u(epc, zone, seen) WHERE t.epc = u.epc"
).bindparams(
    bindparam("epcs", type_=postgresql.ARRAY(String)), bindparam("zones", type_=postgresql.ARRAY(String)),
    bindparam("seen", type_=postgresql.ARRAY(DateTime(timezone=True))), bindparam("now", type_=UTCDateTime()),
)


# Elsewhere a Core executemany: the ORM's per-row bookkeeping doubled a 2,000-tag commit.
_TAGS = RfidTag.__table__
_LOCATE = (
    update(_TAGS).where(_TAGS.c.epc == bindparam("b_epc"))
    .values(zone=bindparam("b_zone"), last_seen_at=bindparam("b_seen"), updated_at=bindparam("b_now"))
)


def _register_postgresql(session: Session, rows: list[dict[str, object]]) -> set[str]:
    """The rows' INSERT ... ON CONFLICT DO NOTHING RETURNING epc as one statement over arrays: the multi-row
    VALUES form is a 300 kB statement per 1,000 tags that psycopg parses anew each time (0.17 s per 2,000)."""
    assert all(row["state"] is TagState.IN_STOCK and row["version"] == 1 for row in rows)
    params = {
        "epcs": [row["epc"] for row in rows], "gtins": [row["gtin"] for row in rows], "serials": [row["serial"] for row in rows],
        "locations": [row["location_id"] for row in rows], "zones": [row["zone"] for row in rows],
        "seen": [row["last_seen_at"] for row in rows], "state": TagState.IN_STOCK, "now": utcnow(),
    }
    return set(session.scalars(_REGISTER_POSTGRESQL, params))


def _candidates(facts: list[tuple[Fact, str | None]], site: Site) -> dict[str, tuple[int, str, datetime, str | None]]:
    """Tags whose first fact in the batch is a receiving arrival: epc -> (fact index, zone key, time, reader).

    A tag seen elsewhere first (say in the backroom, then carried to receiving) is left to the per-fact
    path: registering it in bulk would put its receipt before the facts that came earlier."""
    out: dict[str, tuple[int, str, datetime, str | None]] = {}
    seen: set[str] = set()
    for i, (fact, reader) in enumerate(facts):
        epc = getattr(fact, "epc", None)  # zone outages carry no tag
        if epc is None or epc in seen:
            continue
        seen.add(epc)
        if isinstance(fact, TagArrived):
            key = fact.zone
        elif isinstance(fact, TagMoved):
            key = fact.to_zone
        else:
            continue
        if site.zones[key][2] == "receiving":
            out[epc] = (i, key, fact.at, reader)
    return out


def receive_new_tags(session: Session, facts: list[tuple[Fact, str | None]], site: Site) -> tuple[list[Effect], set[int]]:
    """Apply receipts of unregistered tags in bulk; the effects and the indices of the facts it handled."""
    candidates = _candidates(facts, site)
    if not candidates:
        return [], set()
    known = set(session.scalars(select(RfidTag.epc).where(_epc_in(session, list(candidates)))))
    decoded = {epc: decode_epc(epc) for epc in candidates if epc not in known}
    # Only items enter stock: case tags, SSCCs and foreign tags never do (one definition: rfid.verification).
    items = {epc: d for epc, d in decoded.items() if classify_tag(d).kind is TagKind.ITEM}
    gtins = {d.gtin for d in items.values()}
    products = set(session.scalars(select(Product.gtin).where(Product.gtin.in_(gtins)))) if gtins else set()
    rows = []
    for epc, d in items.items():
        if d.gtin in products:
            _i, key, at, _reader = candidates[epc]
            location, zone, _kind = site.zones[key]
            rows.append({"epc": epc, "gtin": d.gtin, "serial": d.serial, "location_id": location, "zone": zone,
                         "state": TagState.IN_STOCK, "last_seen_at": at, "version": 1})
    if not rows:
        return [], set()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        registered = _register_postgresql(session, rows)
    else:
        stmt = sqlite.insert(RfidTag).on_conflict_do_nothing().returning(RfidTag.epc)
        registered = set(session.scalars(stmt, rows)) if dialect == "sqlite" else set()
    groups: dict[tuple[str, str], list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        if row["epc"] in registered:
            groups[(str(row["location_id"]), str(row["gtin"]))].append(row)
    effects: list[Effect] = []
    events: list[dict[str, object]] = []
    for (location, gtin), tags in groups.items():
        stock_repository.ensure_level(session, location, gtin)
        after = stock_repository.apply_change(session, location, gtin, on_hand_delta=len(tags))
        assert after is not None  # adding stock cannot break a rule
        outbox.stock_moved(session, location, gtin, on_hand=after.on_hand, reserved=after.reserved, safety=after.safety, on_hand_delta=len(tags))
        first = after.on_hand - len(tags)
        for n, row in enumerate(tags, start=1):
            epc = str(row["epc"])
            reader = candidates[epc][3]
            events.append({
                "location_id": location, "gtin": gtin, "kind": StockEventKind.RECEIPT, "cause": StockCause.READER,
                "on_hand_delta": 1, "reserved_delta": 0, "safety_delta": 0, "on_hand_after": first + n,
                "reserved_after": after.reserved, "safety_after": after.safety, "quarantined_after": after.quarantined, "reader_id": reader, "zone": row["zone"],
                "epc": epc, "reason": "rfid receiving", "actor": f"reader:{reader}" if reader else "reader",
                "idempotency_key": f"tag:{epc}:v1",
            })
            effects.append(Effect(Outcome.RECEIVED, epc, location, str(row["zone"]), gtin))
    if events:
        session.execute(insert(StockEvent), events)
    handled = {candidates[epc][0] for epc in registered}
    return effects, handled


def locate_known_tags(session: Session, facts: list[tuple[Fact, str | None]], site: Site, skip: set[int]) -> tuple[list[Effect], set[int]]:
    """Tags in stock at a location seen in another of its zones: only zone and last-seen change, in one bulk UPDATE.

    Receiving counts too: a tag already in stock there that is read in receiving (the store's readers
    re-reading it, or every tag once after a restart) is only located, exactly as the per-fact path does.
    A tag with any fact in the batch that only the per-fact path applies (pack station, portal) is left
    wholly to that path, so its facts keep their order."""
    moves: dict[str, tuple[list[int], str, datetime]] = {}
    per_fact: set[str] = set()
    for i, (fact, _reader) in enumerate(facts):
        if i in skip:
            continue
        if isinstance(fact, TagArrived):
            key = fact.zone
        elif isinstance(fact, TagMoved):
            key = fact.to_zone
            if site.zones[fact.from_zone][2] == "pack-station":
                per_fact.add(fact.epc)  # leaving a pack station re-judges a parcel: the per-fact path does that
                continue
        else:
            if isinstance(fact, PortalCrossed):
                per_fact.add(fact.epc)
            continue
        if site.zones[key][2] == "pack-station":
            per_fact.add(fact.epc)
            continue
        if fact.epc in moves:
            indices, last_key, _at = moves[fact.epc]
            if site.zones[last_key][0] != site.zones[key][0]:
                per_fact.add(fact.epc)  # between locations within one batch: a transfer, decided fact by fact
            moves[fact.epc] = ([*indices, i], key, fact.at)  # the last move of a tag in this batch wins
        else:
            moves[fact.epc] = ([i], key, fact.at)
    for epc in per_fact:
        moves.pop(epc, None)
    if not moves:
        return [], set()
    # Plain rows, not ORM objects: after a restart every tag in a store arrives once, thousands per commit.
    columns = select(RfidTag.epc, RfidTag.state, RfidTag.location_id, RfidTag.gtin).where(_epc_in(session, list(moves)))
    tags = {epc: (state, location_id, gtin) for epc, state, location_id, gtin in session.execute(columns)}
    updates, effects, handled = [], [], set()
    now = utcnow()
    for epc, (indices, key, at) in moves.items():
        found = tags.get(epc)
        location, zone, _kind = site.zones[key]
        if found is None or found[0] is not TagState.IN_STOCK or found[1] != location:
            continue  # unknown, missing, sold, elsewhere: the per-fact path decides
        updates.append({"b_epc": epc, "b_zone": zone, "b_seen": at, "b_now": now})
        effects.append(Effect(Outcome.LOCATED, epc, location, zone, found[2]))
        handled.update(indices)
    if updates and session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCATE_POSTGRESQL, {"epcs": [u["b_epc"] for u in updates], "zones": [u["b_zone"] for u in updates],
                                             "seen": [u["b_seen"] for u in updates], "now": now})
    elif updates:
        session.execute(_LOCATE, updates)
    return effects, handled

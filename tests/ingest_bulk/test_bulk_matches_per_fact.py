"""The bulk ingest paths (fulfil/ingest/bulk.py) leave the database exactly as applying every fact in order would.

Random batches of arrivals and moves over tags in every starting state (unregistered, in stock here, in
stock at the other store, sold, shipped, missing), across receiving, backroom, a pack station and the other
store's zones, applied once as IngestPipeline.commit does (bulk receipts, bulk locating, the rest fact by
fact) and once fact by fact; the tag rows, stock levels, stock events and tag anomalies must be the same.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from fulfil.ingest.bulk import locate_known_tags, receive_new_tags
from fulfil.ingest.config import zone_kind
from fulfil.ingest.effects import apply_fact
from fulfil.ingest.outcomes import Site
from fulfil.models import Location, LocationKind, Product, RfidTag, StockEvent, StockLevel, TagAnomaly, TagState
from fulfil.stock import repository as stock_repository
from rfid.epc import encode_sgtin96
from rfid.facts import Fact, TagArrived, TagMoved
from tests.conftest import make_gtin

T0 = datetime(2024, 3, 5, 14, 0, tzinfo=UTC)
STATES = ["new", "here", "here", "there", "sold", "shipped", "missing"]


def _snapshot(session: Session, epcs: list[str], locations: list[str]) -> tuple[object, ...]:
    tags = sorted((t.epc, t.state, t.location_id, t.zone, t.version, t.last_seen_at) for t in session.scalars(select(RfidTag).where(RfidTag.epc.in_(epcs))))
    levels = sorted((lv.location_id, lv.gtin, lv.on_hand, lv.reserved) for lv in session.scalars(select(StockLevel).where(StockLevel.location_id.in_(locations))))
    events = sorted((e.location_id, e.kind, e.on_hand_delta, e.epc, e.idempotency_key) for e in session.scalars(select(StockEvent).where(StockEvent.location_id.in_(locations))))
    anomalies = sorted((a.epc, a.tag_version, a.location_id, a.zone, a.seen_at) for a in session.scalars(select(TagAnomaly).where(TagAnomaly.epc.in_(epcs))))
    return tags, levels, events, anomalies


@pytest.mark.parametrize("seed", range(150))
def test_bulk_commit_equals_fact_by_fact(engine: Engine, seed: int) -> None:
    rng = random.Random(seed)
    here, there = f"ST-BLK-{uuid.uuid4().hex[:6]}", f"ST-BLK-{uuid.uuid4().hex[:6]}"
    gtin = make_gtin(prefix="0614141")
    zones = {f"{loc}/{z}": (loc, z, zone_kind(z)) for loc in (here, there) for z in ("receiving", "backroom", "pack-station-1")}
    site = Site(zones, "loss", lambda key: frozenset())
    epcs = [encode_sgtin96(gtin, 900_000 + seed * 10 + i, 7) for i in range(5)]
    states = {epc: rng.choice(STATES) for epc in epcs}
    facts: list[tuple[Fact, str | None]] = []
    where: dict[str, str] = {}
    for n in range(rng.randint(1, 8)):
        epc = rng.choice(epcs)
        key = rng.choice(list(zones))
        at = T0 + timedelta(seconds=n)
        fact: Fact = TagMoved(epc, where[epc], key, at) if epc in where and where[epc] != key else TagArrived(epc, key, at)
        where[epc] = key
        facts.append((fact, "r1"))

    results = []
    for bulk in (True, False):
        with engine.connect() as conn:
            outer = conn.begin()
            session = Session(bind=conn, join_transaction_mode="create_savepoint")
            try:
                session.add_all([Location(id=loc, name=loc, kind=LocationKind.STORE, lat=45.0, lon=4.0) for loc in (here, there)])
                if session.get(Product, gtin) is None:
                    session.add(Product(gtin=gtin, name="tagged item", company_prefix_length=7))
                session.flush()
                for loc in (here, there):
                    stock_repository.ensure_level(session, loc, gtin)
                    stock_repository.apply_change(session, loc, gtin, on_hand_delta=5)
                for i, epc in enumerate(epcs):
                    state = states[epc]
                    if state == "new":
                        continue
                    tag_state = {"here": TagState.IN_STOCK, "there": TagState.IN_STOCK, "sold": TagState.SOLD, "shipped": TagState.SHIPPED,
                                 "missing": TagState.MISSING}[state]
                    session.add(RfidTag(epc=epc, gtin=gtin, serial=str(i), location_id=there if state == "there" else here,
                                        zone="backroom", state=tag_state, version=1))
                session.flush()
                pending = list(facts)
                if bulk:
                    _effects, handled = receive_new_tags(session, pending, site)
                    _located, also = locate_known_tags(session, pending, site, handled)
                    handled |= also
                    for i, (fact, reader) in enumerate(pending):
                        if i not in handled:
                            apply_fact(session, fact, site, reader)
                else:
                    for fact, reader in pending:
                        apply_fact(session, fact, site, reader)
                session.flush()
                session.expire_all()
                results.append(_snapshot(session, epcs, [here, there]))
            finally:
                session.close()
                outer.rollback()
    assert results[0] == results[1], (states, facts)

"""A quarantined unit (a damaged return) read by RFID later: located where it is, never back in sellable stock, never
an anomaly at its own location, never moved by a read elsewhere, and never an item of a parcel on the pack table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.config import Settings
from fulfil.db import unit_of_work
from fulfil.ingest.config import parse_config
from fulfil.ingest.effects import apply_fact
from fulfil.ingest.outcomes import Site
from fulfil.ingest.pipeline import IngestPipeline
from fulfil.models import RfidTag, Shipment, StockCause, StockEventKind, StockLevel, TagAnomaly, TagState
from fulfil.orders.schemas import OrderCreate
from fulfil.orders.service import create_order
from fulfil.routing_runs.service import route_new_order
from fulfil.shipments import verification, workflow
from fulfil.shipments.verification import QUARANTINED_REASON
from fulfil.stock import service as stock
from fulfil.tags.repository import transition
from rfid.facts import TagArrived
from tests.delivery import OPS, tag_stock
from tests.ingest.conftest import events, impinj, readers_toml


def quarantine_in_place(session: Session, epc: str) -> None:
    """A unit in stock found damaged where it is: its tag quarantined, one unit from on hand into quarantine."""
    tag = session.get(RfidTag, epc, populate_existing=True)
    assert tag is not None and tag.gtin is not None and tag.location_id is not None
    version = transition(session, tag, state=TagState.QUARANTINED, zone=None)
    assert version is not None
    stock.move(session, tag.location_id, tag.gtin, StockEventKind.QUARANTINE, stock.Cause(StockCause.MANUAL, actor="test", epc=epc, reason="damaged"),
               on_hand_delta=-1, quarantine_delta=1, idempotency_key=f"tag:{epc}:v{version}")


def _books(factory: Any, store: str, gtin: str) -> tuple[int, int]:
    with factory() as s:
        level = s.get(StockLevel, (store, gtin))
        return (level.on_hand, level.quarantined) if level else (0, 0)


def test_a_quarantined_tag_read_again_stays_quarantined_in_bulk_and_fact_by_fact(site: dict[str, Any]) -> None:
    factory, store, gtin = site["factory"], site["store"], site["gtin"]
    damaged, sound = site["epcs"][:2]
    config = parse_config(readers_toml(store, "unused/topic", "unused"))
    reader = f"r700-{store}"
    first = IngestPipeline(config, factory)
    for epc in (damaged, sound):
        first.feed_payload(impinj(epc, 1), reader=reader)
    assert sorted(e.outcome.value for e in first.commit()) == ["received", "received"]
    with unit_of_work(factory) as s:
        quarantine_in_place(s, damaged)
    assert _books(factory, store, gtin) == (1, 1)
    logged = len(events(factory, store))
    for antenna, reads in ((1, 1), (2, 3), (1, 1)):  # receiving, the sales floor (three reads for an arrival), receiving again
        again = IngestPipeline(config, factory)  # a restarted worker: every tag is read once more
        for _ in range(reads):
            for epc in (sound, damaged):  # in one batch: the bulk path locates the sound tag, the quarantined one goes fact by fact
                again.feed_payload(impinj(epc, antenna), reader=reader)
        outcomes = sorted({(e.epc, e.outcome.value) for e in again.commit()})
        assert outcomes == sorted([(damaged, "located"), (sound, "located")]), outcomes
    with factory() as s:
        tag = s.get(RfidTag, damaged)
        assert tag is not None and (tag.state, tag.location_id, tag.zone) == (TagState.QUARANTINED, store, "receiving")
        assert s.scalars(select(TagAnomaly).where(TagAnomaly.epc == damaged)).all() == []
    assert _books(factory, store, gtin) == (1, 1) and len(events(factory, store)) == logged


def test_a_quarantined_tag_read_at_another_store_is_not_moved(
    session: Session, make_location: Callable[..., Any], make_product: Callable[..., Any],
) -> None:
    home, there = make_location().id, make_location().id
    gtin = make_product().gtin
    epc = tag_stock(session, home, gtin, 1)[0]
    quarantine_in_place(session, epc)
    site = Site({f"{there}/receiving": (there, "receiving", "receiving"), f"{home}/backroom": (home, "backroom", "backroom")}, "loss", lambda key: frozenset())
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    effect = apply_fact(session, TagArrived(epc, f"{there}/receiving", at), site, "r-there")[0]
    assert (effect.outcome.value, effect.location) == ("ignored", there)
    assert apply_fact(session, TagArrived(epc, f"{home}/backroom", at), site, "r-home")[0].outcome.value == "located"
    tag = session.get(RfidTag, epc, populate_existing=True)
    assert tag is not None and (tag.state, tag.location_id, tag.zone) == (TagState.QUARANTINED, home, "backroom")
    assert session.get(StockLevel, (there, gtin)) is None
    assert session.scalars(select(TagAnomaly).where(TagAnomaly.epc == epc)).all() == []


def test_a_quarantined_unit_cannot_complete_a_parcel(session: Session, make_location: Callable[..., Any], make_product: Callable[..., Any]) -> None:
    store = make_location(lat=48.86, lon=2.35).id
    gtin = make_product().gtin
    damaged, sound = tag_stock(session, store, gtin, 2)
    quarantine_in_place(session, damaged)
    order = create_order(session, OrderCreate(external_id="PACK-Q", channel="web", ship_to={"lat": 48.86, "lon": 2.35}, lines=[{"gtin": gtin, "qty": 1}]), OPS).order
    route_new_order(session, order.id, Settings(routing_batch_interval_seconds=0), "test")
    shipment_id = session.scalars(select(Shipment.id).where(Shipment.order_id == order.id)).one()
    workflow.start_picking(session, shipment_id, OPS)
    workflow.mark_picked(session, shipment_id, OPS)
    workflow.pack(session, shipment_id, "pack-station-1", OPS, "0614141")
    session.flush()
    session.expire_all()
    verdict = verification.verify_station(session, store, "pack-station-1", [damaged])
    assert verdict is not None and not verdict.complete
    assert verdict.verdict["foreign"] == [{"epc": damaged, "reason": QUARANTINED_REASON}]
    assert verdict.verdict["missing"][0]["gtin"] == gtin
    tag = session.get(RfidTag, damaged, populate_existing=True)
    assert tag is not None and tag.state is TagState.QUARANTINED  # not packed
    swapped = verification.verify_station(session, store, "pack-station-1", [sound])
    assert swapped is not None and swapped.complete

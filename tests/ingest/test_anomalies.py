"""A sold or shipped tag seen again is an anomaly: recorded once per tag version and location, logged, counted,
streamed to the location and shown on the tag; the tag is not moved and stock does not change."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.db import unit_of_work
from fulfil.ingest.config import parse_config
from fulfil.ingest.effects import apply_fact
from fulfil.ingest.outcomes import Site
from fulfil.ingest.pipeline import IngestPipeline
from fulfil.models import RfidTag, Role, StockCause, StockEventKind, TagAnomaly, TagState
from fulfil.stock import service as stock
from fulfil.tags import repository
from fulfil.tags.service import sell
from rfid.epc import encode_sgtin96
from rfid.facts import TagArrived
from tests.conftest import make_gtin
from tests.ingest.conftest import events, impinj, on_hand, readers_toml
from tests.service.test_live_stream import read_events

CLERK = Principal(token_id=0, name="till-1", role=Role.OPS, location_id=None)


def _tag(factory: Any, epc: str) -> tuple[object, ...]:
    with factory() as s:
        t = s.get(RfidTag, epc)
        assert t is not None
        return t.state, t.location_id, t.zone, t.version, t.last_seen_at


def _anomalies(factory: Any, epc: str) -> list[tuple[str, int, str, str]]:
    with factory() as s:
        return [(a.location_id, a.tag_version, a.tag_state.value, a.zone) for a in s.scalars(select(TagAnomaly).where(TagAnomaly.epc == epc).order_by(TagAnomaly.id))]


def test_sold_and_shipped_tags_seen_again_are_anomalies_once(site: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    factory, store, gtin, (sold, shipped, kept) = site["factory"], site["store"], site["gtin"], site["epcs"][:3]
    config = parse_config(readers_toml(store, "unused/topic", "unused"))
    reader = f"r700-{store}"
    pipeline = IngestPipeline(config, factory)
    for epc in (sold, shipped, kept):
        pipeline.feed_payload(impinj(epc, 1), reader=reader)
    pipeline.commit()
    with unit_of_work(factory) as s:
        assert [ln.outcome for ln in sell(s, store, [sold], CLERK, "R-1")] == ["sold"]
        tag = s.get(RfidTag, shipped)
        assert tag is not None and repository.transition(s, tag, state=TagState.SHIPPED, zone=None) is not None  # as shipping does
    before = {epc: _tag(factory, epc) for epc in (sold, shipped)}
    stock_before, events_before = on_hand(factory, store, gtin), len(events(factory, store))

    # Seen again after a restart: the shipped tag on the sales floor, the sold one back at the receiving dock.
    caplog.set_level(logging.WARNING, logger="fulfil.ingest.pipeline")
    for attempt in range(3):  # a restarted worker sees every tag once more: still one anomaly each
        pipeline = IngestPipeline(config, factory)
        for _ in range(3):  # the sales floor wants three reads for an arrival (receiving one, see readers_toml)
            pipeline.feed_payload(impinj(shipped, 2), reader=reader)
        pipeline.feed_payload(impinj(sold, 1), reader=reader)
        outcomes = sorted((e.epc, e.outcome.value) for e in pipeline.commit())
        expected = "anomaly" if attempt == 0 else "duplicate"
        assert outcomes == sorted([(shipped, expected), (sold, expected)])
        assert pipeline.counters.effects["anomaly"] == (2 if attempt == 0 else 0)
    assert {epc: _tag(factory, epc) for epc in (sold, shipped)} == before  # not moved, not re-versioned
    assert on_hand(factory, store, gtin) == stock_before and len(events(factory, store)) == events_before
    assert _anomalies(factory, shipped) == [(store, 2, "shipped", "salesfloor")]
    assert _anomalies(factory, sold) == [(store, 2, "sold", "receiving")]
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("anomaly:")]
    assert len(logged) == 2 and any(shipped in m and "shipped tag seen in salesfloor" in m for m in logged)


def test_an_anomaly_does_not_stand_in_the_way_of_a_later_return(site: dict[str, Any]) -> None:
    """What a return will be (a later issue): a transition back to in_stock on the tag's version, which anomalies
    never bump; once back in stock and sold again, a new sighting is a new anomaly (a new version)."""
    factory, store, epc = site["factory"], site["store"], site["epcs"][3]
    config = parse_config(readers_toml(store, "unused/topic", "unused"))
    reader = f"r700-{store}"
    first = IngestPipeline(config, factory)
    first.feed_payload(impinj(epc, 1), reader=reader)
    first.commit()
    with unit_of_work(factory) as s:
        sell(s, store, [epc], CLERK, None)
    seen = IngestPipeline(config, factory)
    seen.feed_payload(impinj(epc, 1), reader=reader)
    assert [e.outcome.value for e in seen.commit()] == ["anomaly"]
    with unit_of_work(factory) as s:
        tag = s.get(RfidTag, epc)
        assert tag is not None and repository.transition(s, tag, state=TagState.IN_STOCK, zone="receiving") == 3  # the return ...
        stock.move(s, store, site["gtin"], StockEventKind.RECEIPT, stock.Cause(StockCause.MANUAL, actor="test", epc=epc, reason="return"),
                   on_hand_delta=1, idempotency_key=f"tag:{epc}:v3")  # ... and its stock event, keyed on the new version
    with unit_of_work(factory) as s:
        assert [ln.outcome for ln in sell(s, store, [epc], CLERK, None)] == ["sold"]
    again = IngestPipeline(config, factory)
    again.feed_payload(impinj(epc, 1), reader=reader)
    assert [e.outcome.value for e in again.commit()] == ["anomaly"]
    assert [v for _loc, v, _state, _zone in _anomalies(factory, epc)] == [2, 4]


def test_anomalies_stream_to_the_location_and_show_on_the_tag(
    client: TestClient, session: Session, ops: dict[str, str], auth: Callable[..., dict[str, str]],
    make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> None:
    home, there = make_location().id, make_location().id
    gtin = make_product(gtin=make_gtin(prefix="0614198")).gtin
    epc = encode_sgtin96(gtin, 5150, 7)
    session.add(RfidTag(epc=epc, gtin=gtin, serial="5150", location_id=home, zone=None, state=TagState.SHIPPED, version=4))
    session.commit()
    site = Site({f"{there}/backroom": (there, "backroom", "backroom")}, "loss", lambda key: frozenset())
    for _ in range(2):
        apply_fact(session, TagArrived(epc, f"{there}/backroom", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)), site, "r-there")
    session.commit()
    stream = read_events(client, f"/api/v1/locations/{there}/stream?from_start=true&max_events=1", auth("picker", there))
    assert [(e["event"], e["data"]["epc"], e["data"]["tag_state"], e["data"]["zone"]) for e in stream] == [("anomaly", epc, "shipped", "backroom")]
    assert stream[0]["data"]["location_id"] == there and home not in str(stream[0]["data"])  # nothing of where it shipped from
    # A second one: resuming after the first brings only it (the repeated reads above added nothing in between).
    sold = encode_sgtin96(gtin, 5151, 7)
    session.add(RfidTag(epc=sold, gtin=gtin, serial="5151", location_id=there, zone=None, state=TagState.SOLD, version=2))
    session.flush()
    apply_fact(session, TagArrived(sold, f"{there}/backroom", datetime(2026, 3, 1, 9, 31, tzinfo=UTC)), site, "r-there")
    session.commit()
    resumed = read_events(client, f"/api/v1/locations/{there}/stream?max_events=1", {**ops, "Last-Event-ID": stream[0]["id"]})
    assert [(e["event"], e["data"]["epc"]) for e in resumed] == [("anomaly", sold)]
    # An id from before anomalies were streamed (two parts) resumes stock and verdicts there, anomalies from now on.
    stock_of(there, gtin, 1)
    legacy = read_events(client, f"/api/v1/locations/{there}/stream?max_events=3&max_seconds=2", {**ops, "Last-Event-ID": "0.0"})
    assert [e["event"] for e in legacy] == ["stock"] and legacy[0]["id"].count(".") == 3
    tag = client.get(f"/api/v1/tags/{epc}", headers=ops).json()
    assert tag["state"] == "shipped" and tag["location_id"] == home and tag["zone"] is None and tag["version"] == 4
    assert [(a["location_id"], a["zone"], a["reader_id"]) for a in tag["anomalies"]] == [(there, "backroom", "r-there")]
    assert client.get(f"/api/v1/tags/{epc}", headers=auth("picker", home)).json()["anomalies"] == []  # seen elsewhere: not its business

"""A ship-to-store parcel read by RFID in a receiving zone of its pickup store is received there (its SSCC-96 tag or
any of its item tags): its units enter the store's stock reserved for the order, exactly once however often and by
however many workers it is read. Read anywhere else, a shipped tag stays what it was (an anomaly, stock unchanged)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from fulfil.auth.service import Principal
from fulfil.config import Settings
from fulfil.db import unit_of_work
from fulfil.ingest.config import parse_config
from fulfil.ingest.outcomes import Effect
from fulfil.ingest.pipeline import IngestPipeline
from fulfil.models import (
    DomainEvent, Location, LocationKind, RfidTag, Role, Shipment, ShipmentStatus, StockCause, StockEvent, StockLevel, TagAnomaly, TagState,
)
from fulfil.orders.schemas import OrderCreate
from fulfil.orders.service import take_in
from fulfil.shipments import workflow
from fulfil.shipments.verification import verify_station
from fulfil.stock import service as stock
from rfid.epc import encode_sgtin96
from simulators.broker import MosquittoBroker
from tests.conftest import assert_stock_consistent
from tests.factories import delete_orders
from tests.ingest.conftest import impinj
from tests.ingest.test_mqtt_ingest import wait_until

OPS = Principal(token_id=0, name="test", role=Role.OPS, location_id=None)


def readers(store: str, source: str, topic: str) -> str:
    """The pickup store's reader (receiving, salesfloor) on MQTT, and the serving store's (receiving)."""
    return f"""
hold_off_ms = 0
client_id = "ing-{uuid.uuid4().hex[:6]}"
[zones.receiving]
arrival_reads = 1
arrival_ms = 0
[zones.salesfloor]
arrival_reads = 1
arrival_ms = 0
[[readers]]
id = "r700-{store}"
location = "{store}"
transport = "mqtt"
topic = "{topic}"
format = "impinj"
[readers.antennas]
1 = "receiving"
2 = "salesfloor"
[[readers]]
id = "dock-{source}"
location = "{source}"
transport = "http"
format = "impinj"
[readers.antennas]
1 = "receiving"
"""


@pytest.fixture()
def parcel(site: dict[str, Any], engine: Engine, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Committed for real: another store serving a pickup order at the site's store with 2 tagged units, packed,
    verified and shipped: in transit to the pickup store. Afterwards the books are checked, then both stores'
    stock is removed with the order (the site's own check then finds nothing of it)."""
    factory: sessionmaker[Session] = site["factory"]
    store, gtin = site["store"], site["gtin"]
    source = f"ST-SRC-{uuid.uuid4().hex[:6]}"
    items = [encode_sgtin96(gtin, serial, 7) for serial in range(2000, 2002)]
    with unit_of_work(factory) as s:
        s.add(Location(id=source, name="serving store", kind=LocationKind.STORE, lat=45.05, lon=4.05))
    with unit_of_work(factory) as s:
        stock.adjust(s, source, gtin, stock.Cause(StockCause.SYSTEM, actor="test", reason="receipt"), delta=2)
        for epc in items:
            s.add(RfidTag(epc=epc, gtin=gtin, location_id=source, state=TagState.IN_STOCK))
        order = take_in(s, OrderCreate(external_id=f"STS-{uuid.uuid4().hex[:8]}", channel="web", pickup_location_id=store,
                                       lines=[{"gtin": gtin, "qty": 2}]), OPS, Settings(routing_batch_interval_seconds=0)).order
        [shipment] = order.shipments
        assert shipment.location_id == source
        sid, order_id = shipment.id, order.id
    with unit_of_work(factory) as s:
        workflow.start_picking(s, sid, OPS)
        workflow.mark_picked(s, sid, OPS)
        _, box, sscc_epc = workflow.pack(s, sid, "pack-station-1", OPS, "0614141")
        sscc = box.sscc
    with unit_of_work(factory) as s:  # the pack station judges in a transaction of its own, as ingest does
        row = verify_station(s, source, "pack-station-1", [*items, sscc_epc])
        assert row is not None and row.complete, row.verdict if row else None
    with unit_of_work(factory) as s:
        workflow.ship(s, sid, OPS)
    yield {**site, "source": source, "items": items, "sscc_epc": sscc_epc, "sscc": sscc, "shipment": sid, "order": order_id}
    with engine.connect() as conn:
        assert_stock_consistent(conn, request)
    with unit_of_work(factory) as s:
        s.execute(delete(TagAnomaly).where(TagAnomaly.epc.in_(items)))
        s.execute(delete(RfidTag).where(RfidTag.epc.in_(items)))
        delete_orders(s, [order_id])
        s.execute(delete(DomainEvent).where(DomainEvent.location_id == source))
        s.execute(delete(StockEvent).where(StockEvent.location_id.in_([store, source])))
        s.execute(delete(StockLevel).where(StockLevel.location_id.in_([store, source])))
        s.execute(delete(Location).where(Location.id == source))


def pipeline_for(parcel: dict[str, Any], topic: str = "unused/topic") -> IngestPipeline:
    return IngestPipeline(parse_config(readers(parcel["store"], parcel["source"], topic)), parcel["factory"])


def read(pipeline: IngestPipeline, epc: str, reader: str, antenna: int = 1) -> list[Effect]:
    pipeline.feed_payload(impinj(epc, antenna), reader=reader)
    return pipeline.commit(datetime.now(UTC) + timedelta(seconds=1))


def state(parcel: dict[str, Any]) -> tuple[str, str, tuple[int, int]]:
    """The shipment's status and where it is held, and (on hand, reserved) at the pickup store."""
    with parcel["factory"]() as s:
        shipment = s.get(Shipment, parcel["shipment"])
        level = s.get(StockLevel, (parcel["store"], parcel["gtin"]))
        assert shipment is not None
        return shipment.status.value, shipment.held_at, (level.on_hand, level.reserved) if level else (0, 0)


def tags(parcel: dict[str, Any]) -> set[tuple[TagState, str | None, int | None]]:
    with parcel["factory"]() as s:
        return {(t.state, t.location_id, t.shipment_id) for t in s.scalars(select(RfidTag).where(RfidTag.epc.in_(parcel["items"])))}


def test_the_parcel_tag_read_in_receiving_at_the_pickup_store_receives_it(parcel: dict[str, Any]) -> None:
    store, reader = parcel["store"], f"r700-{parcel['store']}"
    assert state(parcel) == ("in_transit", parcel["source"], (0, 0))
    effects = read(pipeline_for(parcel), parcel["sscc_epc"], reader)
    assert [(e.outcome.value, e.epc, e.shipment_id) for e in effects] == [("arrived", parcel["sscc_epc"], parcel["shipment"])]
    assert state(parcel) == ("received", store, (2, 2))
    assert tags(parcel) == {(TagState.PACKED, store, parcel["shipment"])}
    with parcel["factory"]() as s:
        [receipt] = s.scalars(select(StockEvent).where(StockEvent.location_id == store, StockEvent.shipment_id == parcel["shipment"])).all()
        assert (receipt.kind.value, receipt.cause.value, receipt.reader_id, receipt.zone, receipt.epc) == ("receipt", "reader", reader, "receiving", parcel["sscc_epc"])
        assert receipt.idempotency_key is not None and receipt.idempotency_key.startswith(f"receive:{parcel['shipment']}:")
    # A restarted worker reading it again, and its items on the shelf: nothing moves.
    again = pipeline_for(parcel)
    assert [e.outcome.value for e in read(again, parcel["sscc_epc"], reader)] == ["ignored"]
    assert {e.outcome.value for e in read(again, parcel["items"][0], reader)} == {"located"}
    assert state(parcel) == ("received", store, (2, 2))


def test_an_item_tag_of_the_parcel_receives_it_too(parcel: dict[str, Any]) -> None:
    store, reader = parcel["store"], f"r700-{parcel['store']}"
    pipeline = pipeline_for(parcel)
    first = read(pipeline, parcel["items"][0], reader)
    assert [(e.outcome.value, e.gtin) for e in first] == [("arrived", parcel["gtin"])]
    assert state(parcel) == ("received", store, (2, 2))
    second = read(pipeline, parcel["items"][1], reader)
    assert [e.outcome.value for e in second] == ["located"]  # the parcel is in already: its other items are only located
    assert read(pipeline, parcel["sscc_epc"], reader)[0].outcome.value == "ignored"
    assert state(parcel) == ("received", store, (2, 2))
    with parcel["factory"]() as s:
        assert s.scalars(select(TagAnomaly).where(TagAnomaly.epc.in_(parcel["items"]))).all() == []


def test_read_anywhere_else_it_is_not_received(parcel: dict[str, Any]) -> None:
    store, source = parcel["store"], parcel["source"]
    pipeline = pipeline_for(parcel)
    # Back at the store that shipped it: a shipped tag seen there is an anomaly, as before; its SSCC is only a parcel tag.
    at_source = read(pipeline, parcel["items"][0], f"dock-{source}")
    assert [e.outcome.value for e in at_source] == ["anomaly"]
    assert read(pipeline, parcel["sscc_epc"], f"dock-{source}")[0].outcome.value == "ignored"
    # On the pickup store's sales floor (not its receiving): not an arrival either.
    on_floor = read(pipeline, parcel["items"][1], f"r700-{store}", antenna=2)
    assert [e.outcome.value for e in on_floor] == ["anomaly"]
    assert state(parcel) == ("in_transit", source, (0, 0))
    assert tags(parcel) == {(TagState.SHIPPED, source, parcel["shipment"])}


def test_new_stock_and_the_parcel_in_one_commit(parcel: dict[str, Any]) -> None:
    """The bulk path registers a delivery of new tags while the per-fact path receives the parcel, in one commit."""
    store, gtin, reader = parcel["store"], parcel["gtin"], f"r700-{parcel['store']}"
    pipeline = pipeline_for(parcel)
    new = parcel["epcs"][:3]
    for epc in [*new, parcel["sscc_epc"]]:
        pipeline.feed_payload(impinj(epc, 1), reader=reader)
    effects = pipeline.commit(datetime.now(UTC) + timedelta(seconds=1))
    assert sorted(e.outcome.value for e in effects) == ["arrived", "received", "received", "received"]
    assert state(parcel) == ("received", store, (5, 2))
    with parcel["factory"]() as s:
        assert s.get(StockLevel, (store, gtin)).on_hand == 5  # type: ignore[union-attr]


def test_over_mqtt_with_a_real_broker(broker: MosquittoBroker, parcel: dict[str, Any], publish: Any) -> None:
    from fulfil.ingest.mqtt_worker import MqttIngestWorker

    topic = f"readers/{uuid.uuid4().hex[:8]}/events"
    pipeline = pipeline_for(parcel, topic)
    worker = MqttIngestWorker(pipeline, broker.url, pipeline.config)
    worker.subscriber.start()
    assert worker.subscriber.wait_ready(10)
    try:
        for _ in range(3):  # a reader reads on and on; QoS 1 may deliver twice
            publish(topic, impinj(parcel["sscc_epc"], 1))
        wait_until(lambda: state(parcel)[0] == "received", worker.step, "the parcel received")
        wait_until(lambda: pipeline.counters.payloads >= 3, worker.step, "every read consumed")
        worker.step()
    finally:
        worker.subscriber.stop()
    assert state(parcel) == ("received", parcel["store"], (2, 2))
    assert pipeline.counters.effects["arrived"] == 1
    with parcel["factory"]() as s:
        assert s.get(Shipment, parcel["shipment"]).status is ShipmentStatus.RECEIVED  # type: ignore[union-attr]

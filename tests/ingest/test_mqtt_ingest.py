"""Reads published to a real Mosquitto become stock exactly once: duplicates, redeliveries and restarts never double-count."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fulfil.ingest.config import parse_config
from fulfil.ingest.mqtt_worker import MqttIngestWorker
from fulfil.ingest.pipeline import IngestPipeline
from simulators.broker import MosquittoBroker
from tests.ingest.conftest import events, impinj, on_hand, readers_toml

DEADLINE_S = 20.0


def wait_until(condition: Callable[[], bool], step: Callable[[], object], what: str) -> None:
    """Drive `step` until `condition` holds, or fail after a deadline (no blind sleeps)."""
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        step()


def make_worker(broker: MosquittoBroker, site: dict[str, Any], topic: str, client_id: str) -> tuple[IngestPipeline, MqttIngestWorker]:
    config = parse_config(readers_toml(site["store"], topic, client_id))
    pipeline = IngestPipeline(config, site["factory"])
    worker = MqttIngestWorker(pipeline, broker.url, config)
    worker.subscriber.start()
    assert worker.subscriber.wait_ready(10)
    return pipeline, worker


def test_received_tags_count_once_despite_duplicates_and_garbage(broker: MosquittoBroker, site: dict[str, Any], publish: Callable[[str, bytes], None]) -> None:
    topic = f"readers/{uuid.uuid4().hex[:8]}/events"
    pipeline, worker = make_worker(broker, site, topic, f"ing-{uuid.uuid4().hex[:6]}")
    try:
        for epc in site["epcs"][:5]:
            publish(topic, impinj(epc, 1))
            publish(topic, impinj(epc, 1))  # QoS 1 at-least-once: the same event twice
        publish(topic, b'{"eventType": "tagInventory", "tagInventoryEvent": {"epcHex": "ZZ"}}')
        publish(topic, b"\xff\xfe not json")
        wait_until(lambda: pipeline.counters.payloads >= 12, worker.step, "12 payloads")
        worker.step()
        assert on_hand(site["factory"], site["store"], site["gtin"]) == 5
        logged = events(site["factory"], site["store"])
        assert len(logged) == 5 and all(e.kind.value == "receipt" and e.cause.value == "reader" for e in logged)
        assert {e.epc for e in logged} == set(site["epcs"][:5])
        assert pipeline.counters.rejected == 2
        assert pipeline.counters.effects["received"] == 5
    finally:
        worker.subscriber.stop()
    # A fresh worker (new process, empty smoothing state) replaying the same capture changes nothing.
    pipeline2, worker2 = make_worker(broker, site, topic, f"ing-{uuid.uuid4().hex[:6]}")
    try:
        for epc in site["epcs"][:5]:
            publish(topic, impinj(epc, 1))
        wait_until(lambda: pipeline2.counters.payloads >= 5, worker2.step, "replayed payloads")
        assert on_hand(site["factory"], site["store"], site["gtin"]) == 5
        assert pipeline2.counters.effects["located"] == 5
    finally:
        worker2.subscriber.stop()


def test_unacked_messages_are_redelivered_after_a_crash_and_applied_once(broker: MosquittoBroker, site: dict[str, Any], publish: Callable[[str, bytes], None]) -> None:
    topic = f"readers/{uuid.uuid4().hex[:8]}/events"
    client_id = f"ing-{uuid.uuid4().hex[:6]}"
    pipeline, worker = make_worker(broker, site, topic, client_id)
    for epc in site["epcs"][:3]:
        publish(topic, impinj(epc, 1))
    # The worker takes the messages but "crashes" before committing and acking.
    wait_until(lambda: len(worker.subscriber._inbox) >= 3, lambda: time.sleep(0.01), "3 queued messages")
    worker.subscriber.stop()
    assert on_hand(site["factory"], site["store"], site["gtin"]) == 0
    pipeline2, worker2 = make_worker(broker, site, topic, client_id)  # same persistent session
    try:
        wait_until(lambda: on_hand(site["factory"], site["store"], site["gtin"]) == 3, worker2.step, "redelivered reads applied")
        worker2.step()
        assert on_hand(site["factory"], site["store"], site["gtin"]) == 3
    finally:
        worker2.subscriber.stop()


def test_tag_leaving_through_the_exit_is_a_loss_once(broker: MosquittoBroker, site: dict[str, Any], publish: Callable[[str, bytes], None]) -> None:
    topic = f"readers/{uuid.uuid4().hex[:8]}/events"
    pipeline, worker = make_worker(broker, site, topic, f"ing-{uuid.uuid4().hex[:6]}")
    epc = site["epcs"][7]
    try:
        publish(topic, impinj(epc, 1))
        wait_until(lambda: on_hand(site["factory"], site["store"], site["gtin"]) == 1, worker.step, "receipt")
        # Inner side first, then outer: walking out. Each side read a few times, a second apart.
        start = datetime.now(UTC)
        for i in range(3):
            publish(topic, impinj(epc, 3, start + timedelta(milliseconds=100 * i), rssi_cdbm=-4000))
        for i in range(3):
            publish(topic, impinj(epc, 4, start + timedelta(milliseconds=600 + 100 * i), rssi_cdbm=-4000))
        wait_until(lambda: pipeline.counters.payloads >= 7, worker.step, "portal reads")
        # The passage is concluded after the portal's silence time: tick the engine past it.
        pipeline.commit(datetime.now(UTC) + timedelta(seconds=10))
        assert on_hand(site["factory"], site["store"], site["gtin"]) == 0
        logged = events(site["factory"], site["store"])
        assert [e.kind.value for e in logged] == ["receipt", "loss"]
        assert [e.reader_id for e in logged] == [f"r700-{site['store']}"] * 2  # the cause names the reader
        pipeline.commit(datetime.now(UTC) + timedelta(seconds=20))
        assert [e.kind.value for e in events(site["factory"], site["store"])] == ["receipt", "loss"]
    finally:
        worker.subscriber.stop()

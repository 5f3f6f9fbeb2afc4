"""The ingest worker as the service runs it (its own loop thread): two workers sharing a subscription, and a broker
killed mid-stream. Stock must end up moved exactly once for every tag, whatever the broker or the second worker did."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete

from fulfil.app import create_app
from fulfil.auth.service import create_token
from fulfil.db import unit_of_work
from fulfil.ingest.config import parse_config
from fulfil.ingest.mqtt_worker import MqttIngestWorker
from fulfil.ingest.pipeline import IngestPipeline
from fulfil.models import ApiToken, Role
from tests.factories import quiet_settings
from rfid.epc import encode_sgtin96
from simulators.broker import MosquittoBroker
from tests.hardware.conftest_mqtt import Publisher
from tests import waiting
from tests.ingest.conftest import events, impinj, on_hand, readers_toml

DEADLINE_S = 45.0  # generous: a reconnect after a broker restart waits for the client's backoff


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll until `condition` holds (the workers run in their own threads), or fail at the deadline."""
    waiting.wait_for(condition, what, DEADLINE_S)


def running_worker(broker: MosquittoBroker, site: dict[str, Any], topic: str, client_id: str, share_group: str | None = None) -> tuple[IngestPipeline, MqttIngestWorker]:
    """A worker started as `fulfil ingest` starts it: subscribed, consuming in its own thread."""
    toml = readers_toml(site["store"], topic, client_id)
    if share_group is not None:
        toml = f'share_group = "{share_group}"\n' + toml
    config = parse_config(toml)
    pipeline = IngestPipeline(config, site["factory"])
    worker = MqttIngestWorker(pipeline, broker.url, config)
    worker.start()
    assert worker.subscriber.wait_ready(DEADLINE_S), f"not subscribed: {worker.subscriber.counters.last_error}"
    return pipeline, worker


def tags(site: dict[str, Any], first_serial: int, count: int) -> list[str]:
    return [encode_sgtin96(site["gtin"], serial, 7) for serial in range(first_serial, first_serial + count)]


def assert_received_once(site: dict[str, Any], expected: list[str]) -> None:
    """On hand equals the distinct tags, and the event log holds one receipt per tag."""
    logged = events(site["factory"], site["store"])
    assert sorted(e.epc for e in logged) == sorted(expected)
    assert all(e.kind.value == "receipt" and e.on_hand_delta == 1 for e in logged)
    assert on_hand(site["factory"], site["store"], site["gtin"]) == len(expected)


@pytest.fixture()
def stopping() -> Iterator[list[MqttIngestWorker]]:
    """Workers to stop at the end of the test, whatever happened."""
    workers: list[MqttIngestWorker] = []
    yield workers
    for worker in workers:
        worker.stop()


def test_two_workers_on_one_shared_subscription_receive_each_tag_once(broker: MosquittoBroker, site: dict[str, Any], stopping: list[MqttIngestWorker]) -> None:
    topic = f"readers/{uuid.uuid4().hex[:8]}/events"
    group = f"ingest{uuid.uuid4().hex[:6]}"
    workers = [running_worker(broker, site, topic, f"ing-{n}-{uuid.uuid4().hex[:6]}", share_group=group) for n in (1, 2)]
    stopping.extend(w for _, w in workers)
    epcs = tags(site, 5000, 40)
    publisher = Publisher(broker)
    try:
        # Each tag read four times in a row: the broker deals the reads out in turn, so both workers see every tag
        # arrive and both try to receive it into stock; the versioned tag transition lets one of them do it.
        publisher.send(topic, [impinj(epc, 1) for epc in epcs for _ in range(4)])
        publisher.flush()
        wait_for(lambda: sum(w.subscriber.counters.acked for _, w in workers) >= 160, "160 acked messages")
    finally:
        publisher.close()
    pipelines = [p for p, _ in workers]
    assert all(p.counters.payloads > 0 for p in pipelines), "the broker did not split the load"
    assert sum(p.counters.payloads for p in pipelines) == 160  # each message went to one worker, once
    assert sum(p.counters.facts for p in pipelines) > len(epcs), "no tag was seen arriving by both workers: the race was not exercised"
    assert sum(p.counters.effects["received"] for p in pipelines) == len(epcs)
    assert_received_once(site, epcs)


def test_broker_killed_mid_stream_loses_no_read_and_counts_none_twice(tmp_path: Path, site: dict[str, Any], stopping: list[MqttIngestWorker]) -> None:
    topic = f"readers/{uuid.uuid4().hex[:8]}/events"
    client_id = f"ing-{uuid.uuid4().hex[:6]}"
    before, during = tags(site, 6000, 15), tags(site, 6100, 15)
    with MosquittoBroker(tmp_path / "mosquitto", autosave_every_change=True) as crashing:
        _, worker = running_worker(crashing, site, topic, client_id)
        stopping.append(worker)
        publisher = Publisher(crashing)
        try:
            publisher.send(topic, [impinj(epc, 1) for epc in before])
            publisher.flush()
            wait_for(lambda: on_hand(site["factory"], site["store"], site["gtin"]) == len(before), "the first reads applied")
            crashing.kill()  # SIGKILL: no goodbye to anyone
            wait_for(lambda: not worker.subscriber.connected, "the worker to notice the broker is gone")
            # Readers keep reading: their client holds QoS 1 publishes until the broker is back. Some repeat reads
            # of tags already received ride along.
            publisher.send(topic, [impinj(epc, 1) for epc in during] + [impinj(epc, 1) for epc in before[:5]])
            crashing.start()
            publisher.flush(timeout=DEADLINE_S)
            wait_for(lambda: on_hand(site["factory"], site["store"], site["gtin"]) == len(before + during), "the reads published while down")
            wait_for(lambda: worker.subscriber.counters.queued == 0 and not worker._unacked, "the worker to drain")
        finally:
            publisher.close()
        assert worker.subscriber.counters.reconnects >= 1
    assert_received_once(site, before + during)


def test_reads_queued_for_a_stopped_worker_survive_a_broker_crash(tmp_path: Path, site: dict[str, Any], stopping: list[MqttIngestWorker]) -> None:
    topic = f"readers/{uuid.uuid4().hex[:8]}/events"
    client_id = f"ing-{uuid.uuid4().hex[:6]}"
    first, queued = tags(site, 7000, 10), tags(site, 7100, 10)
    with MosquittoBroker(tmp_path / "mosquitto", autosave_every_change=True) as crashing:
        _, worker = running_worker(crashing, site, topic, client_id)
        publisher = Publisher(crashing)
        try:
            publisher.send(topic, [impinj(epc, 1) for epc in first])
            publisher.flush()
            wait_for(lambda: on_hand(site["factory"], site["store"], site["gtin"]) == len(first), "the first reads applied")
            worker.stop()  # the service is down (deploy, crash); its persistent session stays on the broker
            publisher.send(topic, [impinj(epc, 1) for epc in queued])
            publisher.flush()
            # Mosquitto autosaves after its loop iteration, just after the PUBACKs: wait for the file to hold them.
            wait_for(lambda: all(epc.encode() in crashing.persistence_file.read_bytes() for epc in queued), "the broker's autosave")
            crashing.kill()
            crashing.start()
        finally:
            publisher.close()
        # The service comes back under the same client id: the broker hands over what it kept.
        pipeline, back = running_worker(crashing, site, topic, client_id)
        stopping.append(back)
        wait_for(lambda: on_hand(site["factory"], site["store"], site["gtin"]) == len(first + queued), "the queued reads applied")
        assert pipeline.counters.payloads >= len(queued)
    assert_received_once(site, first + queued)


def test_the_service_runs_mqtt_ingest_and_shows_it_through_the_api(engine: Engine, database_url: str, broker: MosquittoBroker, site: dict[str, Any], tmp_path: Path) -> None:
    store, factory = site["store"], site["factory"]
    topic = f"readers/{uuid.uuid4().hex[:8]}/events"
    readers = tmp_path / "readers.toml"
    readers.write_text(readers_toml(store, topic, f"svc-{uuid.uuid4().hex[:6]}"))
    with unit_of_work(factory) as s:
        ops = {"Authorization": f"Bearer {create_token(s, role=Role.OPS, name=f'svc-{store}').secret}"}
    settings = quiet_settings(database_url, readers_config=readers, mqtt_url=broker.url)
    publisher = Publisher(broker)
    try:
        with TestClient(create_app(settings, engine=engine)) as client:
            wait_for(lambda: client.get("/api/v1/ingest/status", headers=ops).json()["mqtt"]["connected"], "the service's MQTT session")
            epcs = site["epcs"][:4]
            publisher.send(topic, [impinj(epc, 1) for epc in epcs] + [b"\x00 not a payload"])
            publisher.flush()

            def visible() -> bool:
                response = client.get(f"/api/v1/stock/{store}/{site['gtin']}", headers=ops)
                return response.status_code == 200 and response.json()["on_hand"] == len(epcs)

            wait_for(visible, "stock through the API")
            wait_for(lambda: client.get("/api/v1/ingest/status", headers=ops).json()["mqtt"]["acked"] >= 5, "every message acked")
            status = client.get("/api/v1/ingest/status", headers=ops).json()
            assert status["pipeline"]["effects"]["received"] == len(epcs)
            assert status["pipeline"]["rejected"] == 1 and status["pipeline"]["last_rejection"]
            assert status["mqtt"]["received"] == 5 and status["mqtt"]["dropped"] == 0 and status["mqtt"]["last_error"] is None
            parse = status["mqtt"]["parse_process"]  # the Impinj payloads were decoded by the service's parse process
            assert parse["running"] and parse["batches_in_child"] >= 1 and parse["failures"] == 0
        assert_received_once(site, epcs)
    finally:
        publisher.close()
        with unit_of_work(factory) as s:
            s.execute(delete(ApiToken).where(ApiToken.name == f"svc-{store}"))

"""The ingest's metrics as Prometheus scrapes them from a served app: reads and rejections by kind from a real
Mosquitto, the ingest queue, and the broker connection going down and coming back."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from fulfil.app import create_app
from fulfil.auth.service import create_token
from fulfil.db import unit_of_work
from fulfil.models import Role
from tests.factories import quiet_settings
from simulators.broker import MosquittoBroker
from tests.ingest.conftest import impinj, readers_toml
from tests.service.test_telemetry import sample, scrape

DEADLINE_S = 20.0


def wait_for_scrape(client: TestClient, ops: dict[str, str], check: Any, what: str) -> dict[Any, float]:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        samples = scrape(client, ops)
        if check(samples):
            return samples
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {[(k, v) for k, v in samples.items() if 'ingest' in k[0] or 'mqtt' in k[0]]}")
        time.sleep(0.1)  # polling a condition with a deadline


def test_reads_rejections_and_the_broker_connection_are_scraped(engine: Engine, database_url: str, site: dict[str, Any], tmp_path: Path) -> None:
    topic = f"readers/{uuid.uuid4().hex[:8]}/events"
    readers = tmp_path / "readers.toml"
    readers.write_text(readers_toml(site["store"], topic, f"ing-{uuid.uuid4().hex[:6]}"))
    with unit_of_work(site["factory"]) as s:
        ops = {"Authorization": f"Bearer {create_token(s, role=Role.OPS, name='prometheus').secret}"}
    broker = MosquittoBroker()
    broker.start()
    try:
        settings = quiet_settings(database_url, readers_config=readers, mqtt_url=broker.url)
        with TestClient(create_app(settings, engine=engine)) as client:
            wait_for_scrape(client, ops, lambda x: sample(x, "fulfil_mqtt_connected") == 1, "the MQTT session")
            publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5)
            publisher.connect(broker.host, broker.port)
            publisher.loop_start()
            try:
                for epc in site["epcs"][:3]:
                    publisher.publish(topic, impinj(epc, 1), qos=1).wait_for_publish(timeout=10)
                publisher.publish(topic, b"\xff\xfe not json", qos=1).wait_for_publish(timeout=10)
                publisher.publish(topic, b"{also not json", qos=1).wait_for_publish(timeout=10)
            finally:
                publisher.loop_stop()
                publisher.disconnect()
            samples = wait_for_scrape(client, ops, lambda x: sample(x, "fulfil_ingest_payloads_total") >= 5, "five payloads")
            assert sample(samples, "fulfil_ingest_reads_total") == 3
            assert sample(samples, "fulfil_ingest_rejected_total", reason="not_json") == 2
            assert sample(samples, "fulfil_mqtt_messages_received_total") >= 5
            wait_for_scrape(client, ops, lambda x: sample(x, "fulfil_ingest_pending_facts") == 0 and sample(x, "fulfil_ingest_facts_total") == 3,
                            "the three arrivals committed")
            broker.stop()  # the broker goes away: the gauge says so, and the scrape still answers
            wait_for_scrape(client, ops, lambda x: sample(x, "fulfil_mqtt_connected") == 0, "the session to drop")
            broker.start()
            samples = wait_for_scrape(client, ops, lambda x: sample(x, "fulfil_mqtt_connected") == 1, "the session to come back")
            assert sample(samples, "fulfil_mqtt_reconnects_total") >= 1
    finally:
        broker.close()

"""Ingest as it runs inside `fulfil serve` or `fulfil ingest`: the pipeline, its transports, and a clock."""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fulfil.errors import InvalidInput
from fulfil.ingest.config import IngestConfig, unknown_locations
from fulfil.ingest.mqtt_worker import MqttIngestWorker
from fulfil.ingest.pipeline import IngestPipeline
from fulfil.models import Location
from hardware.serial import SerialReaderDriver, open_driver
from rfid.reads import ReaderEvent, Rejection, TagRead

log = logging.getLogger(__name__)

# Without MQTT traffic, the clock still concludes departures and portal passages this often.
TICK_SECONDS = 0.5


class IngestRuntime:
    """Owns the pipeline and the workers feeding it; start() and stop() them together."""

    def __init__(self, config: IngestConfig, factory: sessionmaker[Session], mqtt_url: str | None) -> None:
        self.config = config
        self.pipeline = IngestPipeline(config, factory)
        has_mqtt = any(r.transport == "mqtt" for r in config.readers)
        if has_mqtt and not mqtt_url:
            raise ValueError("the readers file lists MQTT readers but FULFIL_MQTT_URL is not set")
        self.mqtt = MqttIngestWorker(self.pipeline, mqtt_url, config) if has_mqtt and mqtt_url else None
        self.serial: dict[str, SerialReaderDriver] = {}
        self._stop = threading.Event()
        self._clock = threading.Thread(target=self._tick, name="ingest-clock", daemon=True)

    def start(self) -> None:
        """Check the readers file against the database, connect transports and start the clock."""
        with self.pipeline.factory() as session:
            missing = unknown_locations(self.config, session.scalars(select(Location.id)))
        if missing:
            # Effects at an unknown location could never commit: every batch would fail and block the others.
            raise InvalidInput(f"the readers file names locations the database does not have: {', '.join(sorted(missing))}",
                               details={"locations": sorted(missing)})
        if self.mqtt is not None:
            self.mqtt.start()
        pipeline = self.pipeline
        for spec in (r for r in self.config.readers if r.transport == "serial"):
            assert spec.port is not None and spec.protocol is not None
            reader_id = spec.id

            def on_read(read: TagRead) -> None:
                pipeline.feed(reads=[read])

            def on_event(event: ReaderEvent) -> None:
                pipeline.feed(events=[event])

            def on_rejection(rejection: Rejection, reader_id: str = reader_id) -> None:
                pipeline.reject(reader_id, rejection.reason, rejection.raw)

            # The driver retries a missing or lost port with backoff by itself; its zones are unknown meanwhile.
            self.serial[spec.id] = open_driver(spec.port, spec.protocol, baudrate=spec.baudrate, reader_id=spec.id, on_read=on_read,
                                               on_event=on_event, on_rejection=on_rejection, expected_serial=spec.serial_number)
        self._clock.start()
        log.info("ingest started: %d readers", len(self.config.readers))

    def stop(self) -> None:
        """Stop transports (MQTT keeps un-acked messages for the next start) and the clock."""
        self._stop.set()
        if self.mqtt is not None:
            self.mqtt.stop()
        for driver in self.serial.values():
            driver.stop()
        self._clock.join(timeout=10)

    def _tick(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.pipeline.commit()
            except Exception:  # logged by the pipeline; facts stay pending until the database answers
                continue

    def status(self) -> dict[str, Any]:
        """Counters of the pipeline and the MQTT session."""
        out: dict[str, Any] = {"readers": [r.id for r in self.config.readers], "pipeline": self.pipeline.counters.as_dict(), "pending_facts": len(self.pipeline.pending),
                               "quarantine": list(self.pipeline.quarantine)}
        out["serial"] = {rid: {"online": d.online, "last_error": str(d.last_error) if d.last_error else None} for rid, d in self.serial.items()}
        if self.mqtt is not None:
            c = self.mqtt.subscriber.counters
            out["mqtt"] = {"connected": c.connected, "received": c.received, "acked": c.acked, "refused": c.refused, "dropped": c.dropped,
                           "reconnects": c.reconnects, "queued": c.queued, "unknown_topics": self.mqtt.unknown_topics,
                           "last_error": str(c.last_error) if c.last_error else None, "parse_process": self.mqtt.parser.status()}
        return out

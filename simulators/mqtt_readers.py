"""MQTT reader emulators: publish Impinj / Zebra payloads to a broker like a real reader, outages included.

An Impinj reader announces itself with a `connected` birth message on its will topic and
leaves `connection lost` as its last will; `drop_connection()` ends the session with the
MQTT 5 "disconnect with will message" reason so the broker publishes the will, as it
would when the reader loses power. QoS 1 payloads published while the broker is away
stay in the client and are sent when it reconnects, as a reader's MQTT client does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from hardware.mqtt import MqttConfig, MqttError, build_client
from simulators.reader_payloads import PayloadFactory, ReaderFormat, ReaderSpec, population, zones

BIRTH = b"connected"
WILL = b"connection lost"
CONNECT_TIMEOUT_S = 10.0
FLUSH_TIMEOUT_S = 30.0
# A reader's client keeps this many QoS 1 publishes in flight; beyond it paho queues locally.
MAX_INFLIGHT = 1_000


class MqttReaderSimulator:
    """One reader publishing its payloads on `topic` (status on `status_topic`) through a broker."""

    def __init__(
        self,
        spec: ReaderSpec,
        broker: MqttConfig,
        topic: str,
        *,
        status_topic: str | None = None,
        qos: int = 1,
        keep_history: bool = False,
    ) -> None:
        self.spec = spec
        self.topic = topic
        self.status_topic = status_topic
        self.qos = qos
        self.factory = PayloadFactory(spec, keep_history=keep_history)
        self.published = 0  # payloads handed to the client (duplicates included)
        self.paused = False
        # Readers are plain publishers: a clean session of their own, no manual acks.
        self._config = replace(broker, client_id=f"sim-{spec.name}", clean_start=True, session_expiry_s=0)
        self._client = build_client(self._config)
        self._client.max_inflight_messages_set(MAX_INFLIGHT)
        self._client.on_connect = self._on_connect
        self._pending: set[int] = set()
        self._early: set[int] = set()
        self._acked = threading.Condition()
        self._client.on_publish = self._on_publish
        if status_topic is not None:
            self._client.will_set(status_topic, WILL, qos=1, retain=True)

    def connect(self, timeout: float = CONNECT_TIMEOUT_S) -> MqttReaderSimulator:
        """Connect (retrying by itself in the background) and wait for the broker's CONNACK."""
        self._client.connect_async(self._config.host, self._config.port, self._config.keepalive_s, clean_start=True)
        self._client.loop_start()
        deadline = time.monotonic() + timeout
        while not self._client.is_connected():
            if time.monotonic() > deadline:
                raise MqttError(f"simulated reader {self.spec.name} could not connect to {self._config.where}")
            time.sleep(0.01)  # polling paho's connection state, bounded by the deadline
        return self

    def publish(self, batches: int = 1) -> int:
        """Publish the next `batches` payloads (plus their duplicates); how many payloads went out."""
        sent = 0
        for _ in range(batches):
            if self.paused:
                continue
            for payload in self.factory.next_payloads():
                self.publish_raw(payload)
                sent += 1
        return sent

    def publish_raw(self, payload: bytes) -> None:
        """Publish any bytes on the reader's topic (e.g. `factory.malformed()` or `factory.overflow(n)`)."""
        # Never publish under our lock: paho calls on_publish holding its own lock (lock-order inversion).
        info = self._client.publish(self.topic, payload, qos=self.qos)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise MqttError(f"publish failed: {info.rc.name}")
        with self._acked:
            self.published += 1
            if self.qos:
                # The PUBACK may already have been handled: then its mid waits in _early.
                if info.mid in self._early:
                    self._early.discard(info.mid)
                else:
                    self._pending.add(info.mid)

    def flush(self, timeout: float = FLUSH_TIMEOUT_S) -> bool:
        """Wait until the broker acknowledged every QoS 1 publish so far; False on timeout."""
        with self._acked:
            return self._acked.wait_for(lambda: not self._pending, timeout)

    @property
    def unacknowledged(self) -> int:
        """QoS 1 publishes the broker has not acknowledged yet."""
        with self._acked:
            return len(self._pending)

    def pause(self) -> None:
        """Stop publishing (the reader is silent: no reads, no sequence numbers)."""
        self.paused = True

    def resume(self) -> None:
        """Publish again after `pause()`."""
        self.paused = False

    def drop_connection(self) -> None:
        """End the connection so that the broker publishes the will (`connection lost`)."""
        self._client.disconnect(reasoncode=ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message"))
        self._client.loop_stop()

    def close(self) -> None:
        """Disconnect normally (no will) and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> MqttReaderSimulator:
        return self.connect()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int, reason: ReasonCode, properties: object) -> None:
        if not self.qos:
            return  # QoS 0 "publishes" are not acknowledgements
        with self._acked:
            if mid in self._pending:
                self._pending.discard(mid)
                self._acked.notify_all()
            else:
                self._early.add(mid)

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: mqtt.ConnectFlags, reason: ReasonCode, properties: object) -> None:
        if not reason.is_failure and self.status_topic is not None:
            client.publish(self.status_topic, BIRTH, qos=1, retain=True)


def store_readers(
    broker: MqttConfig,
    *,
    tags: int = 200,
    antennas: int = 4,
    topic_prefix: str = "fulfil/readers",
    seed: int = 0,
    **spec_options: Any,
) -> list[MqttReaderSimulator]:
    """An Impinj and a Zebra reader over one seeded population, on `<prefix>/<name>/events` (not connected)."""
    epcs = population(tags, seed=seed)
    halves: Mapping[ReaderFormat, list[str]] = {"impinj": epcs[: tags // 2], "zebra": epcs[tags // 2 :]}
    readers = []
    kinds: tuple[tuple[ReaderFormat, str], ...] = (("impinj", "r700-backroom"), ("zebra", "fx9600-salesfloor"))
    for offset, (fmt, name) in enumerate(kinds):
        spec = replace(ReaderSpec(name, fmt, zones(halves[fmt], antennas), seed=seed + offset), **spec_options)
        status = f"{topic_prefix}/{name}/status" if fmt == "impinj" else None
        readers.append(MqttReaderSimulator(spec, broker, f"{topic_prefix}/{name}/events", status_topic=status))
    return readers

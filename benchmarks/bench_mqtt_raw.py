"""MQTT receive rate through a private Mosquitto: a bare paho subscriber (baseline) vs the Fulfil wrapper.

Both sessions are persistent and subscribed before anything is published, so the broker
queues the same backlog for each; each then drains it on reconnect, and the time from
connect to the last message is measured. The baseline is the cheapest correct QoS 1
consumer: paho's own auto-ack with a counter in on_message. The wrapper adds what the
service needs: a frozen record per message, the bounded queue, a consumer thread and a
manual ack per message. This is the raw rate the ingest benchmark is compared with.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from benchmarks.report import Result, emit
from hardware.mqtt import MqttConfig, MqttSubscriber, build_client, connect_properties
from simulators.broker import MosquittoBroker
from simulators.reader_payloads import PayloadFactory, ReaderSpec, population, zones

TOPIC = "bench/readers/fx9600/events"
READS_PER_PAYLOAD = 50  # batched Zebra arrays, as an IoT Connector batches under load
BATCHED_PAYLOADS = 10_000  # 500,000 reads
SINGLE_PAYLOADS = 30_000  # one read per payload: the per-message overhead
DISTINCT_PAYLOADS = 1_000  # cycled: generating 500,000 reads would dominate the run
DRAIN_TIMEOUT_S = 120.0
TARGET_RATIO = 0.8  # the wrapper must leave most of the raw rate to the database work after it


def payloads(count: int, per_payload: int) -> list[bytes]:
    """`count` Zebra payloads of `per_payload` reads each, from a seeded store of 2,000 tags."""
    spec = ReaderSpec("fx9600", "zebra", zones(population(2_000, seed=1), 4), events_per_payload=per_payload, seed=1)
    factory = PayloadFactory(spec)
    distinct = [factory.next_payloads()[0] for _ in range(min(count, DISTINCT_PAYLOADS))]
    return [distinct[i % len(distinct)] for i in range(count)]


def publish_all(config: MqttConfig, messages: list[bytes], topic: str = TOPIC) -> None:
    """Publish at QoS 1 and wait until the broker acknowledged (and so queued) every message."""
    client = build_client(config, client_id="bench-publisher")
    client.max_inflight_messages_set(1_000)
    client.connect(config.host, config.port, clean_start=True)
    client.loop_start()
    infos = [client.publish(topic, m, qos=1) for m in messages]
    for info in infos:
        info.wait_for_publish(DRAIN_TIMEOUT_S)
    client.disconnect()
    client.loop_stop()


class RawSubscriber:
    """A bare paho QoS 1 subscriber on a persistent session: auto-ack, a counter, nothing else."""

    def __init__(self, config: MqttConfig, topic: str = TOPIC, count_of: Callable[[bytes], int] | None = None) -> None:
        self.config = config
        self.topic = topic
        self.count_of = count_of  # what one message counts for (default 1), e.g. the reads in its JSON array
        self.count = 0
        self.expected = 0
        self.done = threading.Event()
        self.subscribed = threading.Event()
        self.client = build_client(config, client_id="bench-raw")
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        self.client.on_message = self._on_message

    def start(self, expected: int) -> None:
        """Connect (resuming the session) and count until `expected` messages arrived."""
        self.expected, self.count = expected, 0
        self.done.clear()
        self.client.connect(self.config.host, self.config.port, clean_start=False, properties=connect_properties(self.config))
        self.client.loop_start()

    def stop(self) -> None:
        """Disconnect, keeping the session."""
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason: ReasonCode, properties: object) -> None:
        client.subscribe(self.topic, qos=1)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self.count += 1 if self.count_of is None else self.count_of(message.payload)
        if self.count >= self.expected:
            self.done.set()


def drain_raw(raw: RawSubscriber, expected: int) -> float:
    """Seconds for the bare subscriber to receive its backlog."""
    started = time.perf_counter()
    raw.start(expected)
    if not raw.done.wait(DRAIN_TIMEOUT_S):
        raise RuntimeError(f"raw subscriber got {raw.count} of {expected}")
    elapsed = time.perf_counter() - started
    raw.stop()
    return elapsed


def drain_wrapper(config: MqttConfig, expected: int) -> float:
    """Seconds for the wrapper to receive and ack its backlog, consumer thread included."""
    subscriber = MqttSubscriber(config, [TOPIC])
    started = time.perf_counter()
    subscriber.start()
    received = 0
    deadline = started + DRAIN_TIMEOUT_S
    while received < expected and time.perf_counter() < deadline:
        batch = subscriber.get_batch(1_000, 1.0)
        received += len(batch)
        subscriber.ack_all(batch)
    elapsed = time.perf_counter() - started
    counters = subscriber.counters
    subscriber.stop()
    if received < expected or counters.refused:
        raise RuntimeError(f"wrapper got {received} of {expected}; {counters}")
    return elapsed


def measure(broker: MosquittoBroker, messages: list[bytes]) -> tuple[float, float]:
    """(raw seconds, wrapper seconds) to drain the same backlog."""
    raw_config = MqttConfig.from_url(broker.url, client_id="bench-raw")
    wrapped_config = MqttConfig.from_url(broker.url, client_id="bench-wrapped")
    raw = RawSubscriber(raw_config)
    raw.start(0)
    raw.subscribed.wait(10)
    raw.stop()
    wrapped = MqttSubscriber(wrapped_config, [TOPIC])
    wrapped.start()
    wrapped.wait_ready(10)
    wrapped.stop()
    publish_all(raw_config, messages)  # both sessions now hold the same backlog
    return drain_raw(raw, len(messages)), drain_wrapper(wrapped_config, len(messages))


def main() -> None:
    """Measure batched and single-read payloads and print both against the bare-paho baseline."""
    with MosquittoBroker() as broker:
        for label, count, per_payload in (("batched", BATCHED_PAYLOADS, READS_PER_PAYLOAD), ("single-read", SINGLE_PAYLOADS, 1)):
            raw_s, wrapped_s = measure(broker, payloads(count, per_payload))
            reads = count * per_payload
            raw_rate, wrapped_rate = reads / raw_s, reads / wrapped_s
            emit(
                Result(
                    name=f"MQTT wrapper receive+manual ack, {label} Zebra payloads ({per_payload} reads, {count:,} messages)",
                    figure=wrapped_rate,
                    unit="reads/s",
                    baseline_name="bare paho subscriber, auto-ack",
                    baseline=raw_rate,
                    target=f">= {TARGET_RATIO} x baseline",
                    met=wrapped_rate >= TARGET_RATIO * raw_rate,
                )
            )


if __name__ == "__main__":
    main()

"""MQTT test helpers: a private Mosquitto per test, a raw QoS 1 publisher, and waiting on conditions."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hardware.mqtt import MqttConfig, MqttSubscriber, ReceivedMessage, build_client
from simulators.broker import BrokerError, MosquittoBroker, find_mosquitto
from tests import waiting

DEADLINE_S = 15.0
_ids = itertools.count()


def mosquitto_or_skip() -> None:
    """Skip the test when no Mosquitto binary is installed."""
    try:
        find_mosquitto()
    except BrokerError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A running private broker with persistence in the test's temp dir."""
    mosquitto_or_skip()
    with MosquittoBroker(tmp_path / "mosquitto") as running:
        yield running


def fast_config(broker: MosquittoBroker, **options: object) -> MqttConfig:
    """Settings for `broker` with a unique client id and the shortest reconnect backoff."""
    values: dict[str, object] = {"client_id": f"test-{next(_ids)}", "reconnect_min_delay_s": 1, "reconnect_max_delay_s": 1}
    values.update(options)
    return MqttConfig.from_url(broker.url, **values)


def wait_until(condition: Callable[[], bool], timeout: float = DEADLINE_S, what: str = "condition") -> None:
    """Poll `condition` every 10 ms until true; fail the test at the deadline."""
    waiting.wait_for(condition, what, timeout, every=0.01)


def started(subscriber: MqttSubscriber) -> MqttSubscriber:
    """Start and wait until the subscription is in place."""
    subscriber.start()
    assert subscriber.wait_ready(DEADLINE_S), f"not subscribed: {subscriber.counters.last_error}"
    return subscriber


def collect(
    subscriber: MqttSubscriber, count: int, *, ack: bool = True, timeout: float = DEADLINE_S, already: set[bytes] | None = None
) -> list[ReceivedMessage]:
    """Take messages until `count` distinct payloads arrived, counting `already` seen ones (acking each unless told not to)."""
    seen: list[ReceivedMessage] = []
    payloads: set[bytes] = set(already or ())
    deadline = time.monotonic() + timeout
    while len(payloads) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"received {len(payloads)} of {count} distinct payloads; counters {subscriber.counters}")
        # No more than still missing: what the test leaves un-acked must not depend on how batches arrive.
        for message in subscriber.get_batch(count - len(payloads), min(remaining, 0.5)):
            seen.append(message)
            payloads.add(message.payload)
            if ack:
                subscriber.ack(message)
    return seen


def redelivered(subscriber: MqttSubscriber, publisher: Publisher, topic: str, marker: bytes) -> list[bytes]:
    """Payloads a resumed session sent again: what arrives before a marker published now on `topic` (all acked).

    The broker resends a session's un-acked messages as it resumes, before anything published later, so
    this needs no quiet period to be sure nothing else is coming."""
    publisher.send(topic, [marker])
    before: list[bytes] = []
    deadline = time.monotonic() + DEADLINE_S
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"marker {marker!r} not received; counters {subscriber.counters}")
        for message in subscriber.get_batch(500, min(remaining, 0.5)):
            subscriber.ack(message)
            if message.payload == marker:
                return before
            before.append(message.payload)


class Publisher:
    """A plain QoS 1 publisher (clean session) that can wait for every PUBACK."""

    def __init__(self, broker: MosquittoBroker) -> None:
        config = fast_config(broker, clean_start=True, session_expiry_s=0)
        self._client = build_client(config)
        self._client.max_inflight_messages_set(1_000)
        self._pending: set[int] = set()
        self._early: set[int] = set()
        self._acked = threading.Condition()
        self._client.on_publish = self._on_publish
        self._client.connect_async(broker.host, broker.port, clean_start=True)
        self._client.loop_start()
        wait_until(self._client.is_connected, what="publisher connection")

    def send(self, topic: str, payloads: list[bytes], qos: int = 1) -> None:
        """Publish each payload; QoS 1 ones are tracked until acknowledged."""
        for payload in payloads:
            # Publishing under our lock would deadlock against paho's lock held around on_publish.
            info = self._client.publish(topic, payload, qos=qos)
            if qos:
                with self._acked:
                    if info.mid in self._early:  # acknowledged before we got here
                        self._early.discard(info.mid)
                    else:
                        self._pending.add(info.mid)

    def flush(self, timeout: float = DEADLINE_S) -> None:
        """Wait for the broker's PUBACK of everything sent."""
        with self._acked:
            assert self._acked.wait_for(lambda: not self._pending, timeout), f"{len(self._pending)} publishes not acknowledged"

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()

    def _on_publish(self, client: object, userdata: object, mid: int, reason: object, properties: object) -> None:
        with self._acked:
            if mid in self._pending:
                self._pending.discard(mid)
                self._acked.notify_all()
            else:
                self._early.add(mid)  # a QoS 0 send, or a PUBACK that beat `send` to the lock


@pytest.fixture
def publisher(broker: MosquittoBroker) -> Iterator[Publisher]:
    """A QoS 1 publisher connected to the test broker."""
    client = Publisher(broker)
    yield client
    client.close()


def numbered(prefix: str, count: int) -> list[bytes]:
    """Distinct payloads `<prefix>-0000` ... for loss and duplicate accounting."""
    return [f"{prefix}-{i:04d}".encode() for i in range(count)]

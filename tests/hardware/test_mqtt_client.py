"""The MQTT subscriber on a real Mosquitto: delivery, manual acks and redelivery, back-pressure, shared subscriptions."""

from __future__ import annotations

import os
import signal
from datetime import UTC

import pytest

from conftest_mqtt import Publisher, broker, collect, fast_config, numbered, publisher, redelivered, started, wait_until  # noqa: F401
from hardware.mqtt import MqttConfig, MqttConfigError, MqttSubscriber, TlsOptions, shared_topic
from hardware.mqtt import client as client_module
from hardware.mqtt.client import FLUSH_FILTER
from simulators.broker import MosquittoBroker
from tests.hardware.conftest import stopped, wait_for_state

TOPIC = "fulfil/readers/r1/events"
ACK_ROUNDS = 60  # restarts right after acking; without the flush in stop() this failed in 10 of 10 runs


def test_config_from_url_reads_credentials_port_and_scheme() -> None:
    config = MqttConfig.from_url("mqtt://ingest:p%40ss%3Aword@broker.local:1884", client_id="worker-1")
    assert (config.host, config.port, config.username, config.password) == ("broker.local", 1884, "ingest", "p@ss:word")
    assert config.tls is None and config.client_id == "worker-1"
    assert config.redacted_url() == "mqtt://ingest:***@broker.local:1884"
    secure = MqttConfig.from_url("mqtts://broker.local", tls=TlsOptions(insecure=True))
    assert secure.port == 8883 and secure.tls == TlsOptions(insecure=True)
    assert MqttConfig.from_url("mqtts://h").tls == TlsOptions()
    assert MqttConfig(queue_size=500).effective_receive_maximum == 500
    assert MqttConfig(queue_size=100_000).effective_receive_maximum == 65_535


@pytest.mark.parametrize(
    "url, options",
    [("http://host", {}), ("mqtt://", {}), ("mqtt://host:99999", {}), ("mqtt://host", {"colour": "red"}), ("mqtt://host", {"client_id": ""})],
)
def test_config_rejects_what_cannot_work(url: str, options: dict[str, object]) -> None:
    with pytest.raises(MqttConfigError):
        MqttConfig.from_url(url, **options)


def test_the_filter_stop_unsubscribes_from_cannot_be_subscribed() -> None:
    with pytest.raises(ValueError, match="reserved"):
        MqttSubscriber(MqttConfig(), [FLUSH_FILTER])


def test_shared_topic_names_the_group() -> None:
    assert shared_topic("ingest", "fulfil/readers/+/events") == "$share/ingest/fulfil/readers/+/events"
    with pytest.raises(MqttConfigError):
        shared_topic("in/gest", "t")


def test_messages_arrive_as_frozen_records_and_acks_are_counted(broker: MosquittoBroker, publisher: Publisher) -> None:
    subscriber = started(MqttSubscriber(fast_config(broker), ["fulfil/readers/+/events"]))
    try:
        publisher.send(TOPIC, numbered("m", 20))
        messages = collect(subscriber, 20)
        first = messages[0]
        assert (first.topic, first.payload, first.qos, first.retain, first.dup) == (TOPIC, b"m-0000", 1, False, False)
        assert first.received_at.tzinfo is UTC
        with pytest.raises(AttributeError):
            first.topic = "other"  # type: ignore[misc]
        counters = subscriber.counters
        assert (counters.received, counters.acked, counters.refused, counters.connects) == (20, 20, 0, 1)
    finally:
        subscriber.stop()


def test_an_unacked_message_is_redelivered_to_the_same_session_and_an_acked_one_is_not(broker: MosquittoBroker, publisher: Publisher) -> None:
    config = fast_config(broker)
    first = started(MqttSubscriber(config, [TOPIC]))
    publisher.send(TOPIC, numbered("r", 10))
    received = collect(first, 10, ack=False)
    committed = [m for m in received if int(m.payload[-4:]) % 2 == 0]
    assert first.ack_all(committed) == 5
    first.stop()  # the service stops before committing the odd ones

    second = started(MqttSubscriber(config, [TOPIC]))
    again = collect(second, 5)
    assert sorted(m.payload for m in again) == [p for p in numbered("r", 10) if int(p[-4:]) % 2]
    assert all(m.dup for m in again)
    second.stop()

    third = started(MqttSubscriber(config, [TOPIC]))
    assert redelivered(third, publisher, TOPIC, b"marker") == []  # everything was acked: nothing left in the session
    third.stop()


def test_acks_sent_before_stop_reach_the_broker_even_when_the_session_is_resumed_at_once(broker: MosquittoBroker, publisher: Publisher) -> None:
    # paho only queues a PUBACK. A service restarting with the same client id at once used to find acked
    # messages redelivered: Mosquitto takes the session over and closes the old connection with bytes unread.
    config = fast_config(broker)
    subscriber = started(MqttSubscriber(config, [TOPIC]))
    try:
        for restart in range(ACK_ROUNDS):
            batch = numbered(f"round{restart}", 20)
            publisher.send(TOPIC, batch)
            assert subscriber.ack_all(collect(subscriber, 20, ack=False)) == 20
            subscriber.stop()
            subscriber = started(MqttSubscriber(config, [TOPIC]))  # no pause between stop and start
            back = redelivered(subscriber, publisher, TOPIC, f"marker-{restart}".encode())
            assert not back, f"restart {restart}: acked messages came back: {sorted(back)}"
    finally:
        subscriber.stop()


def test_stop_gives_up_waiting_for_a_broker_that_does_not_answer(broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(client_module, "STOP_FLUSH_TIMEOUT_S", 0.2)
    subscriber = started(MqttSubscriber(fast_config(broker), [TOPIC]))
    assert broker.pid is not None
    os.kill(broker.pid, signal.SIGSTOP)  # hung: the connection stays up, nothing is answered
    try:
        wait_for_state(broker.pid, "stopped", stopped)  # else it could still answer the flush
        subscriber.stop()
    finally:
        os.kill(broker.pid, signal.SIGCONT)
    assert "acks not confirmed before disconnecting (timed out)" in caplog.text
    assert not subscriber.connected


def test_backlog_published_while_the_service_is_down_is_delivered_when_it_returns(broker: MosquittoBroker, publisher: Publisher) -> None:
    config = fast_config(broker)
    started(MqttSubscriber(config, [TOPIC])).stop()  # creates the persistent session and its subscription
    publisher.send(TOPIC, numbered("offline", 300))
    publisher.flush()
    back = started(MqttSubscriber(config, [TOPIC]))
    try:
        assert {m.payload for m in collect(back, 300)} == set(numbered("offline", 300))
    finally:
        back.stop()


def test_receive_maximum_keeps_the_backlog_on_the_broker(broker: MosquittoBroker, publisher: Publisher) -> None:
    subscriber = started(MqttSubscriber(fast_config(broker, queue_size=10), [TOPIC]))
    try:
        publisher.send(TOPIC, numbered("b", 100))
        publisher.flush()
        wait_until(lambda: subscriber.counters.received == 10, what="the first window of 10")
        window = subscriber.get_batch(100, timeout=1.0)
        assert subscriber.get(timeout=0.5) is None and subscriber.counters.received == 10  # nothing beyond the window
        subscriber.ack_all(window)  # acking opens the window again
        assert {m.payload for m in window + collect(subscriber, 90)} == set(numbered("b", 100))
        assert subscriber.counters.refused == 0 and subscriber.counters.dropped == 0
    finally:
        subscriber.stop()


def test_a_full_queue_refuses_qos1_without_acking_and_the_broker_redelivers_later(broker: MosquittoBroker, publisher: Publisher) -> None:
    # A Receive Maximum above the queue size forces the queue-full path the default settings avoid.
    config = fast_config(broker, queue_size=5, receive_maximum=50, queue_full_wait_s=0.05)
    subscriber = started(MqttSubscriber(config, [TOPIC]))
    publisher.send(TOPIC, numbered("q", 20))
    wait_until(lambda: subscriber.counters.queued + subscriber.counters.refused == 20, what="20 deliveries settled")
    counters = subscriber.counters
    assert (counters.queued, counters.refused, counters.acked) == (5, 15, 0)
    subscriber.ack_all(collect(subscriber, 5, ack=False))
    subscriber.stop()

    # Back with Receive Maximum = queue size (the default): the broker paces the redelivery.
    # Not `started()`: the resumed session pushes the redeliveries before the SUBACK, so consume at once.
    again = MqttSubscriber(fast_config(broker, client_id=config.client_id, queue_size=5), [TOPIC])
    again.start()
    try:
        refused_back = collect(again, 15)
        assert {m.payload for m in refused_back} == set(numbered("q", 20)[5:])
        assert again.counters.refused == 0
    finally:
        again.stop()


def test_a_full_queue_drops_and_counts_qos0(broker: MosquittoBroker, publisher: Publisher) -> None:
    subscriber = started(MqttSubscriber(fast_config(broker, queue_size=5, queue_full_wait_s=0.05), [TOPIC], qos=0))
    try:
        publisher.send(TOPIC, numbered("z", 20), qos=0)
        wait_until(lambda: subscriber.counters.queued + subscriber.counters.dropped == 20, what="20 QoS 0 deliveries settled")
        assert (subscriber.counters.queued, subscriber.counters.dropped) == (5, 15)
    finally:
        subscriber.stop()


def test_a_failing_callback_costs_one_message_not_the_network_loop(broker: MosquittoBroker, publisher: Publisher, monkeypatch: pytest.MonkeyPatch) -> None:
    subscriber = started(MqttSubscriber(fast_config(broker), [TOPIC]))
    inbox = subscriber._inbox
    original = inbox.offer
    calls = {"n": 0}

    def offer_failing_once(message: object, wait: float = 0.0) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("bug in the hand-off")
        return original(message, wait)  # type: ignore[arg-type]

    monkeypatch.setattr(inbox, "offer", offer_failing_once)
    try:
        publisher.send(TOPIC, numbered("f", 10))
        assert {m.payload for m in collect(subscriber, 9)} == set(numbered("f", 10)[1:])
        assert subscriber.counters.callback_errors == 1 and subscriber.connected
    finally:
        subscriber.stop()


def test_two_workers_on_a_shared_subscription_each_get_every_message_exactly_once_between_them(broker: MosquittoBroker, publisher: Publisher) -> None:
    workers = [started(MqttSubscriber(fast_config(broker, client_id=f"ingest-{n}"), ["fulfil/readers/+/events"], share_group="ingest")) for n in (1, 2)]
    try:
        publisher.send(TOPIC, numbered("s", 400))
        got: list[list[bytes]] = [[], []]

        def drained() -> bool:
            for index, worker in enumerate(workers):
                for message in worker.get_batch(500, 0.05):
                    got[index].append(message.payload)
                    worker.ack(message)
            return sum(map(len, got)) >= 400

        wait_until(drained, what="400 messages across both workers")
        first, second = set(got[0]), set(got[1])
        assert first | second == set(numbered("s", 400))
        assert not first & second
        assert len(got[0]) + len(got[1]) == 400  # no message went twice to the same worker either
        assert first and second  # the broker really split the load
    finally:
        for worker in workers:
            worker.stop()

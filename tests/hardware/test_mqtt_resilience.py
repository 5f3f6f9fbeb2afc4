"""Broker restarts and crashes mid-stream, stale acks, credentials and TLS, on a real Mosquitto."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest_mqtt import Publisher, broker, collect, fast_config, mosquitto_or_skip, numbered, publisher, started, wait_until  # noqa: F401
from hardware.mqtt import MqttAuthError, MqttConnectError, MqttSubscriber, TlsOptions
from simulators.broker import BrokerTls, MosquittoBroker

TOPIC = "fulfil/readers/r1/events"


def test_graceful_broker_restart_mid_stream_loses_nothing_and_the_client_reconnects_by_itself(broker: MosquittoBroker, publisher: Publisher) -> None:
    subscriber = started(MqttSubscriber(fast_config(broker), [TOPIC]))
    try:
        before, during = numbered("before", 100), numbered("during", 100)
        publisher.send(TOPIC, before)
        publisher.flush()
        half = collect(subscriber, 50)  # committed and acked; the other 50 stay un-acked in the session
        broker.stop()
        wait_until(lambda: not subscriber.connected, what="the subscriber to notice")
        publisher.send(TOPIC, during)  # the readers keep publishing; their client holds QoS 1 until the broker is back
        broker.start()
        rest = collect(subscriber, 200, timeout=30, already={m.payload for m in half})
        assert {m.payload for m in half + rest} == set(before + during)
        assert subscriber.counters.reconnects >= 1
    finally:
        subscriber.stop()


def test_killed_broker_keeps_what_it_autosaved_for_an_offline_persistent_session(tmp_path: Path) -> None:
    mosquitto_or_skip()
    with MosquittoBroker(tmp_path / "mosquitto", autosave_every_change=True) as crashing:
        config = fast_config(crashing)
        started(MqttSubscriber(config, [TOPIC])).stop()  # the worker is down; its session waits on the broker
        publisher = Publisher(crashing)
        queued = numbered("queued", 200)
        publisher.send(TOPIC, queued)
        publisher.flush()
        # Mosquitto saves after its loop iteration, a moment after the PUBACKs: wait for the file to hold all.
        wait_until(lambda: all(p in _read(crashing.persistence_file) for p in queued), what="the autosave")
        crashing.kill()
        crashing.start()
        after = numbered("after", 50)
        publisher.send(TOPIC, after)  # the publisher reconnects by itself and resends
        publisher.flush(timeout=30)
        publisher.close()
        back = MqttSubscriber(config, [TOPIC])
        back.start()
        try:
            assert {m.payload for m in collect(back, 250, timeout=30)} == set(queued + after)
        finally:
            back.stop()


def test_an_ack_from_an_earlier_connection_is_not_sent_and_the_redelivered_copy_is_acked(broker: MosquittoBroker, publisher: Publisher) -> None:
    subscriber = started(MqttSubscriber(fast_config(broker), [TOPIC]))
    try:
        publisher.send(TOPIC, numbered("stale", 1))
        (old,) = collect(subscriber, 1, ack=False)
        broker.restart()
        (copy,) = collect(subscriber, 1, ack=False, timeout=30)
        assert copy.payload == old.payload and copy.dup and copy.connection > old.connection
        assert subscriber.ack(old) is False
        assert subscriber.ack(copy) is True
        assert subscriber.counters.stale_acks == 1 and subscriber.counters.purged == 0
    finally:
        subscriber.stop()


def test_queued_copies_from_an_earlier_connection_are_purged_when_the_session_resumes(broker: MosquittoBroker, publisher: Publisher) -> None:
    subscriber = started(MqttSubscriber(fast_config(broker), [TOPIC]))
    try:
        publisher.send(TOPIC, numbered("p", 10))
        wait_until(lambda: subscriber.counters.queued == 10, what="10 queued")
        broker.restart()
        wait_until(lambda: subscriber.counters.connects == 2, timeout=30, what="the reconnect")
        messages = collect(subscriber, 10)
        assert subscriber.counters.purged == 10
        assert all(m.dup and m.connection == 2 for m in messages) and len(messages) == 10
    finally:
        subscriber.stop()


def test_username_and_password_are_checked_by_the_broker(tmp_path: Path) -> None:
    mosquitto_or_skip()
    if shutil.which("mosquitto_passwd") is None and not Path("/usr/bin/mosquitto_passwd").exists():
        pytest.skip("mosquitto_passwd is not installed")
    with MosquittoBroker(tmp_path / "auth", users={"ingest": "s3cret:with@chars"}) as secured:
        good = started(MqttSubscriber(fast_config(secured, username="ingest", password="s3cret:with@chars"), [TOPIC]))
        good.stop()
        bad = MqttSubscriber(fast_config(secured, username="ingest", password="wrong"), [TOPIC])
        bad.start()
        try:
            wait_until(lambda: isinstance(bad.counters.last_error, MqttAuthError), what="an auth error")
            assert not bad.connected
        finally:
            bad.stop()


def test_tls_with_a_private_ca(tmp_path: Path) -> None:
    mosquitto_or_skip()
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    ca, cert, key = _make_ca_and_server_cert(openssl, tmp_path)
    with MosquittoBroker(tmp_path / "tls", tls=BrokerTls(cert, key)) as secured:
        assert secured.url.startswith("mqtts://")
        trusted = started(MqttSubscriber(fast_config(secured, tls=TlsOptions(ca_file=ca)), [TOPIC]))
        trusted.stop()
        insecure = started(MqttSubscriber(fast_config(secured, tls=TlsOptions(insecure=True)), [TOPIC]))
        insecure.stop()
        untrusted = MqttSubscriber(fast_config(secured, tls=TlsOptions()), [TOPIC])  # system CAs only
        untrusted.start()
        try:
            wait_until(lambda: isinstance(untrusted.counters.last_error, MqttConnectError), what="a TLS failure")
            assert not untrusted.connected
        finally:
            untrusted.stop()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _make_ca_and_server_cert(openssl: str, directory: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 signed by it."""
    ca_key, ca, key, csr, cert = (directory / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    ext = directory / "san.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2", "-subj", "/CN=fulfil test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return ca, cert, key

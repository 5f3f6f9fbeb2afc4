"""A persistent-session MQTT 5 subscriber with manual acknowledgement and a bounded hand-off queue.

Delivery contract: every QoS 1 message is handed to the consumer at least once. The
consumer acks a message (`MqttSubscriber.ack`) only after its effects are committed;
whatever is not acked when the connection drops or the process stops is redelivered by
the broker when the same client id reconnects (with the `dup` flag set). Duplicates are
therefore normal and must be absorbed downstream (idempotency keys).

Back-pressure, in two steps. (1) The CONNECT packet's Receive Maximum equals the queue
size, so a conforming broker stops sending once that many messages are un-acked and keeps
the backlog (persisted) on its side. (2) Mosquitto 2.0.11 can overrun that window
(eclipse/mosquitto#2301), so when the queue is full anyway the network thread blocks for
up to `queue_full_wait_s`: it stops reading the socket and TCP flow control pushes back on
the broker, without losing anything. Only if the consumer is stuck past that wait is a
QoS 1 message refused (counted, not acked: the broker redelivers it when the session is
next resumed); a QoS 0 message cannot come back and is dropped (counted). The wait stays
well under the keepalive so the session survives a slow commit.

Stopping: paho only queues a PUBACK for its network thread, and a DISCONNECT written after it
does not prove the broker read it. Mosquitto, when the same client id connects again at once
(a service restart), takes the session over and closes the old connection with its unread
bytes, so messages acked just before `stop()` came back. `stop()` therefore makes one round trip
first (an UNSUBSCRIBE of a filter never subscribed: the broker answers it after reading every
packet sent before it) and disconnects once it is answered, or after `STOP_FLUSH_TIMEOUT_S`.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from hardware.mqtt.config import MqttConfig, shared_topic
from hardware.mqtt.errors import MqttConnectError, MqttError, check, connect_error, disconnect_error
from hardware.mqtt.inbox import Inbox, ReceivedMessage
from hardware.mqtt.session import build_client, connect_properties

LOG = logging.getLogger(__name__)
REFUSAL_LOG_EVERY = 1_000
# How long stop() waits for the broker to confirm it has read the acks sent before; past it the
# disconnect goes ahead and any ack it did not read only means a redelivery (at least once holds).
STOP_FLUSH_TIMEOUT_S = 5.0
# Never subscribed to (refused as a topic): unsubscribing from it is a round trip without side effects.
FLUSH_FILTER = "fulfil/mqtt-stop-flush"


@dataclass(frozen=True, slots=True)
class MqttCounters:
    """A snapshot of what the subscriber has seen since it was created."""

    received: int  # PUBLISH packets taken off the wire (redeliveries included)
    acked: int  # PUBACKs sent for QoS 1 messages
    refused: int  # QoS 1 messages not queued (queue full): left un-acked for redelivery
    dropped: int  # QoS 0 messages lost to a full queue, and unreadable messages acked unprocessed
    purged: int  # queued messages of an earlier connection removed because the session redelivers them
    stale_acks: int  # acks not sent: the message came on an earlier connection (its copy will be acked)
    connects: int
    reconnects: int  # successful connects after the first
    callback_errors: int  # exceptions caught inside our paho callbacks
    queued: int
    connected: bool
    last_error: MqttError | None


class MqttSubscriber:
    """Subscribe to reader topics on a persistent session and hand messages to one consumer thread."""

    def __init__(self, config: MqttConfig, topics: Sequence[str], *, qos: int = 1, share_group: str | None = None) -> None:
        if not topics:
            raise ValueError("subscribe to at least one topic")
        self.config = config
        self.filters = [shared_topic(share_group, t) if share_group else t for t in topics]
        if FLUSH_FILTER in self.filters:  # stop() unsubscribes from it: the session would lose it
            raise ValueError(f"{FLUSH_FILTER} is reserved")
        self.qos = qos
        self._inbox = Inbox(config.queue_size)
        self._lock = threading.Lock()
        self._unsubscribed = threading.Condition(self._lock)  # an UNSUBACK arrived, or the connection dropped
        self._unsubacks: set[int] = set()  # mids of the UNSUBACKs received (stop()'s flush waits on one)
        self._connection = 0  # bumped on each CONNACK; identifies which connection a mid belongs to
        self._online = False
        self._stopping = False
        self._connected_event = threading.Event()
        self._subscribed_event = threading.Event()
        self._subscribe_mid: int | None = None
        self._counts: dict[str, int] = dict.fromkeys(
            ("received", "acked", "refused", "dropped", "purged", "stale_acks", "connects", "callback_errors"), 0
        )
        self._last_error: MqttError | None = None
        self._client = build_client(config, manual_ack=True)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_unsubscribe = self._on_unsubscribe
        self._client.on_message = self._on_message

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the network thread; it connects, subscribes and reconnects with backoff by itself."""
        config = self.config
        with self._lock:
            self._stopping = False
            self._unsubacks.clear()  # mids are reused: an answer to an earlier stop() must not count
        self._inbox.reopen()
        self._client.connect_async(
            config.host, config.port, config.keepalive_s, clean_start=config.clean_start, properties=connect_properties(config)
        )
        check(self._client.loop_start(), "starting the MQTT network thread")

    def stop(self) -> None:
        """Disconnect cleanly once the broker has read the acks sent (it keeps the session and every un-acked message) and join the thread."""
        with self._lock:
            self._stopping = True
            was_online = self._online
            self._online = False  # no ack is sent from here on
        self._inbox.close()  # a network thread blocked on a full queue must not hold up the shutdown
        if was_online:
            self._flush_acks()
        self._client.disconnect()
        self._client.loop_stop()

    def _flush_acks(self) -> None:
        """Wait (up to STOP_FLUSH_TIMEOUT_S) until the broker answers a packet queued behind every ack sent."""
        sock = self._client.socket()
        if isinstance(sock, socket.socket):  # TCP or TLS; not a websocket wrapper
            # Nagle would hold the UNSUBSCRIBE back until the broker's delayed ACK (~40 ms): the connection
            # is about to close, so small packets go out at once from here on.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rc, mid = self._client.unsubscribe(FLUSH_FILTER)
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            return  # not connected any more: acks not read are redelivered, as after any dropped connection
        with self._unsubscribed:
            flushed = self._unsubscribed.wait_for(lambda: mid in self._unsubacks or not self._connected_event.is_set(), STOP_FLUSH_TIMEOUT_S)
            answered = mid in self._unsubacks
        if not answered:
            LOG.warning("MQTT %s: acks not confirmed before disconnecting (%s); their messages may be redelivered",
                        self.config.redacted_url(), "timed out" if not flushed else "connection lost")  # fmt: skip

    def __enter__(self) -> MqttSubscriber:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def wait_ready(self, timeout: float) -> bool:
        """True once connected and the subscription is acknowledged on the current connection."""
        return self._subscribed_event.wait(timeout)

    def wait_connected(self, timeout: float) -> bool:
        """True once a CONNACK accepted the current connection."""
        return self._connected_event.wait(timeout)

    @property
    def connected(self) -> bool:
        """Whether the broker accepted the current connection."""
        return self._online

    # -- consumer side ---------------------------------------------------------------------

    def get(self, timeout: float | None = None) -> ReceivedMessage | None:
        """The next message, or None after `timeout` seconds."""
        batch = self._inbox.take(1, timeout)
        return batch[0] if batch else None

    def get_batch(self, max_items: int, timeout: float | None = None) -> list[ReceivedMessage]:
        """Up to `max_items` messages, waiting up to `timeout` for the first (for batched commits)."""
        return self._inbox.take(max_items, timeout)

    def ack(self, message: ReceivedMessage) -> bool:
        """Acknowledge a committed message; False when nothing was sent (stale connection, or offline)."""
        if message.qos == 0:
            return True
        with self._lock:  # per message: the network thread's on_message needs this lock too
            # A mid is only valid on the connection that delivered it: on a later connection the
            # broker resends the message (same or another mid) and may reuse this mid for a new one.
            if message.connection != self._connection or not self._online:
                self._counts["stale_acks"] += 1
                return False
            rc = self._client.ack(message.mid, message.qos)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                self._last_error = MqttError(f"ack of mid {message.mid} failed: {rc.name}")
                return False
            self._counts["acked"] += 1
            return True

    def ack_all(self, messages: Iterable[ReceivedMessage]) -> int:
        """Acknowledge a committed batch; how many acks were sent."""
        return sum(1 for m in messages if self.ack(m) and m.qos > 0)

    @property
    def counters(self) -> MqttCounters:
        """A consistent snapshot of the counters."""
        with self._lock:
            counts = dict(self._counts)
            return MqttCounters(
                reconnects=max(0, counts["connects"] - 1),
                queued=len(self._inbox),
                connected=self._online,
                last_error=self._last_error,
                **counts,
            )

    # -- paho callbacks (network thread): thin, counted, never raising ---------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags, reason: ReasonCode, properties: Properties | None) -> None:
        try:
            if reason.is_failure:
                error = connect_error(reason)
                with self._lock:
                    self._last_error = error
                LOG.warning("MQTT %s: %s", self.config.redacted_url(), error)
                return
            with self._lock:
                self._connection += 1
                current = self._connection
                self._online = True
                self._counts["connects"] += 1
                if flags.session_present:
                    # The resumed session redelivers every un-acked message: queued copies from an
                    # earlier connection could never be acked, so processing them is wasted work.
                    self._counts["purged"] += self._inbox.purge(lambda m: m.connection < current)
            options = SubscribeOptions(qos=self.qos, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
            rc, mid = client.subscribe([(f, options) for f in self.filters])
            self._subscribe_mid = mid
            self._connected_event.set()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                self._record(MqttError(f"subscribe failed: {rc.name}"))
            LOG.info("MQTT connected to %s (session present: %s)", self.config.redacted_url(), flags.session_present)
        except Exception:  # noqa: BLE001 - a callback must never take the network loop down
            self._callback_failed("on_connect")

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        try:
            self._record(MqttConnectError(f"cannot connect to {self.config.where}"))
        except Exception:  # noqa: BLE001
            self._callback_failed("on_connect_fail")

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: mqtt.DisconnectFlags, reason: ReasonCode, properties: Properties | None
    ) -> None:
        try:
            with self._lock:
                was_online = self._online
                # From here on, acks of this connection's mids are refused (see `ack`).
                self._online = False
                stopping = self._stopping
                self._connected_event.clear()
                self._unsubscribed.notify_all()  # a flush in stop() waits for nothing more
            self._subscribed_event.clear()
            # A refused CONNACK is followed by a disconnect: keep the refusal as the error.
            if was_online and not stopping:
                self._record(disconnect_error(reason))
                LOG.warning("MQTT %s disconnected (%s); reconnecting", self.config.redacted_url(), reason.getName())
        except Exception:  # noqa: BLE001
            self._callback_failed("on_disconnect")

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: list[ReasonCode], properties: Properties | None) -> None:
        try:
            refused = [f for f, r in zip(self.filters, reasons, strict=False) if r.is_failure]
            if refused:
                self._record(MqttError(f"broker refused subscriptions: {', '.join(refused)}"))
            elif mid == self._subscribe_mid:
                self._subscribed_event.set()
        except Exception:  # noqa: BLE001
            self._callback_failed("on_subscribe")

    def _on_unsubscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: list[ReasonCode], properties: Properties | None) -> None:
        try:
            with self._lock:
                self._unsubacks.add(mid)
                self._unsubscribed.notify_all()
        except Exception:  # noqa: BLE001
            self._callback_failed("on_unsubscribe")

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            with self._lock:
                self._counts["received"] += 1
                connection = self._connection
            try:
                topic = message.topic
            except UnicodeDecodeError:
                # Not a valid topic, can never be processed: ack it so it does not block a slot.
                self._drop_unreadable(message)
                return
            received = ReceivedMessage(
                topic, bytes(message.payload), message.qos, bool(message.retain), message.mid,
                datetime.now(UTC), bool(message.dup), connection,
            )  # fmt: skip
            if self._inbox.offer(received, self.config.queue_full_wait_s):
                return
            outcome = "refused" if message.qos > 0 else "dropped"
            with self._lock:
                self._counts[outcome] += 1
                total = self._counts[outcome]
            if total == 1 or total % REFUSAL_LOG_EVERY == 0:  # a stuck consumer must not flood the log
                LOG.warning("MQTT queue full (%d) for %.1f s: %d messages %s so far (latest on %s)",
                            self._inbox.capacity, self.config.queue_full_wait_s, total, outcome, topic)  # fmt: skip
        except Exception:  # noqa: BLE001
            self._callback_failed("on_message")

    def _drop_unreadable(self, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self._counts["dropped"] += 1
        LOG.warning("MQTT message with a non-UTF-8 topic dropped (mid %d)", message.mid)
        if message.qos > 0:
            self._client.ack(message.mid, message.qos)

    def _record(self, error: MqttError) -> None:
        with self._lock:
            self._last_error = error

    def _callback_failed(self, where: str) -> None:
        with self._lock:
            self._counts["callback_errors"] += 1
        LOG.exception("MQTT %s callback failed; the network loop carries on", where)

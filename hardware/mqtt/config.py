"""Connection settings of the MQTT transport, and parsing them from `mqtt://` / `mqtts://` URLs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from hardware.mqtt.errors import MqttConfigError

DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883
DEFAULT_CLIENT_ID = "fulfil-ingest"
# How long the broker keeps an offline session (subscriptions + queued QoS 1 reads): a day covers a
# night of downtime; past it the broker forgets the session and reads published meanwhile are lost.
SESSION_EXPIRY_S = 86_400
KEEPALIVE_S = 30
# Reconnect backoff: paho doubles the wait from the minimum up to the maximum, reset on CONNACK.
RECONNECT_MIN_DELAY_S = 1
RECONNECT_MAX_DELAY_S = 30
# Reads waiting for the consumer; also the MQTT 5 Receive Maximum (capped by the protocol at 65535),
# so the broker never has more un-acked messages in flight to us than the queue can hold.
QUEUE_SIZE = 10_000
MAX_RECEIVE_MAXIMUM = 65_535
# When the queue is full anyway (Mosquitto 2.0 can overrun a client's Receive Maximum), the network
# thread waits this long for room before refusing: TCP back-pressure, and well under the keepalive.
QUEUE_FULL_WAIT_S = 5.0


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """TLS settings: CA bundle, optional client certificate, and an insecure switch for tests."""

    ca_file: Path | None = None  # None: the system's trust store
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False  # skip host name verification (self-signed test brokers only)


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """Everything needed to open a persistent MQTT 5 session with a broker."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = None
    tls: TlsOptions | None = None
    # Must be stable across restarts (the session is keyed by it) and unique per worker.
    client_id: str = DEFAULT_CLIENT_ID
    session_expiry_s: int = SESSION_EXPIRY_S
    keepalive_s: int = KEEPALIVE_S
    reconnect_min_delay_s: int = RECONNECT_MIN_DELAY_S
    reconnect_max_delay_s: int = RECONNECT_MAX_DELAY_S
    queue_size: int = QUEUE_SIZE
    receive_maximum: int | None = None  # None: min(queue_size, 65535)
    queue_full_wait_s: float = QUEUE_FULL_WAIT_S
    clean_start: bool = False  # True discards whatever the broker queued while we were away

    def __post_init__(self) -> None:
        if not self.host:
            raise MqttConfigError("MQTT host is empty")
        if not 0 < self.port < 65536:
            raise MqttConfigError(f"MQTT port {self.port} is out of range")
        if not self.client_id:
            raise MqttConfigError("a persistent session needs a non-empty client id")
        if self.queue_size < 1:
            raise MqttConfigError("queue_size must be at least 1")
        if self.receive_maximum is not None and not 0 < self.receive_maximum <= MAX_RECEIVE_MAXIMUM:
            raise MqttConfigError(f"receive_maximum must be within 1..{MAX_RECEIVE_MAXIMUM}")
        if not 0 < self.reconnect_min_delay_s <= self.reconnect_max_delay_s:
            raise MqttConfigError("reconnect delays must satisfy 0 < min <= max")
        if self.password is not None and self.username is None:
            raise MqttConfigError("a password without a user name")

    @property
    def effective_receive_maximum(self) -> int:
        """The Receive Maximum sent in CONNECT: how many un-acked messages the broker may send us."""
        if self.receive_maximum is not None:
            return self.receive_maximum
        return min(self.queue_size, MAX_RECEIVE_MAXIMUM)

    @property
    def where(self) -> str:
        """host:port, for messages."""
        return f"{self.host}:{self.port}"

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MqttConfig:
        """Settings from `mqtt://[user[:password]@]host[:port]` or `mqtts://...`; keyword options override the rest."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("mqtt", "mqtts"):
            raise MqttConfigError(f"unsupported MQTT URL scheme {parts.scheme!r}; expected mqtt:// or mqtts://")
        try:
            port = parts.port
        except ValueError as exc:
            raise MqttConfigError(f"bad port in MQTT URL: {exc}") from None
        if not parts.hostname:
            raise MqttConfigError("MQTT URL without a host")
        values: dict[str, Any] = {
            "host": parts.hostname,
            "port": port or (DEFAULT_TLS_PORT if scheme == "mqtts" else DEFAULT_PORT),
            # Credentials may carry reserved characters, percent-encoded in the URL.
            "username": unquote(parts.username) if parts.username is not None else None,
            "password": unquote(parts.password) if parts.password is not None else None,
            "tls": TlsOptions() if scheme == "mqtts" else None,
        }
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(options) - fields
        if unknown:
            raise MqttConfigError(f"unknown MQTT options: {', '.join(sorted(unknown))}")
        values.update(options)
        return cls(**values)

    def redacted_url(self) -> str:
        """The URL with the password hidden, for logs."""
        scheme = "mqtts" if self.tls is not None else "mqtt"
        user = f"{self.username}:***@" if self.password is not None else (f"{self.username}@" if self.username else "")
        return f"{scheme}://{user}{self.host}:{self.port}"


def shared_topic(group: str, topic: str) -> str:
    """The MQTT 5 shared-subscription filter `$share/<group>/<topic>`: the group's members split the messages."""
    if not group or any(c in group for c in "/+#"):
        raise MqttConfigError(f"bad share group name {group!r}")
    return f"$share/{group}/{topic}"

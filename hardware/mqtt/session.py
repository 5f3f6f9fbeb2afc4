"""Building a configured paho client: MQTT 5, credentials, TLS, persistent-session CONNECT properties."""

from __future__ import annotations

import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hardware.mqtt.config import MqttConfig, TlsOptions
from hardware.mqtt.errors import MqttConfigError


def build_client(config: MqttConfig, *, manual_ack: bool = False, client_id: str | None = None) -> mqtt.Client:
    """A paho 2.x MQTT 5 client with the config's credentials, TLS and reconnect backoff (not yet connected)."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id if client_id is not None else config.client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=manual_ack,
    )
    if config.username is not None:
        client.username_pw_set(config.username, config.password)
    if config.tls is not None:
        # paho reads check_hostname from the context, so `insecure` needs no second switch.
        client.tls_set_context(tls_context(config.tls))
    client.reconnect_delay_set(config.reconnect_min_delay_s, config.reconnect_max_delay_s)
    # A callback bug must cost one message, not the network thread (we also catch inside our callbacks).
    client.suppress_exceptions = True
    return client


def tls_context(options: TlsOptions) -> ssl.SSLContext:
    """A client-side TLS context: the given CA (or the system store) and optional client certificate."""
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(options.ca_file) if options.ca_file else None)
        if options.cert_file is not None:
            context.load_cert_chain(str(options.cert_file), str(options.key_file) if options.key_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise MqttConfigError(f"cannot load TLS files: {exc}") from exc
    if options.insecure:
        # Self-signed test brokers: keep encryption, drop the identity check.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def connect_properties(config: MqttConfig) -> Properties:
    """CONNECT properties of a persistent session: session expiry and our Receive Maximum."""
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho leaves __init__ unannotated
    properties.SessionExpiryInterval = config.session_expiry_s
    properties.ReceiveMaximum = config.effective_receive_maximum
    return properties

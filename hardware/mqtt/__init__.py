"""MQTT transport: a persistent-session paho 2.x subscriber with manual acks, and its errors and settings."""

from hardware.mqtt.client import MqttCounters, MqttSubscriber
from hardware.mqtt.config import MqttConfig, TlsOptions, shared_topic
from hardware.mqtt.errors import (
    MqttAuthError,
    MqttConfigError,
    MqttConnectError,
    MqttConnectionLost,
    MqttError,
    MqttTlsError,
)
from hardware.mqtt.inbox import ReceivedMessage
from hardware.mqtt.session import build_client, connect_properties

__all__ = [
    "MqttAuthError",
    "MqttConfig",
    "MqttConfigError",
    "MqttConnectError",
    "MqttConnectionLost",
    "MqttCounters",
    "MqttError",
    "MqttSubscriber",
    "MqttTlsError",
    "ReceivedMessage",
    "TlsOptions",
    "build_client",
    "connect_properties",
    "shared_topic",
]

"""MQTT transport errors: paho reason codes and socket/TLS failures translated at the boundary."""

from __future__ import annotations

import ssl

from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

# CONNACK / DISCONNECT reason codes (MQTT 5, section 2.4) that mean "your credentials are wrong".
_AUTH_REASONS = frozenset({134, 135, 140})  # Bad user name or password, Not authorized, Bad authentication method


class MqttError(Exception):
    """Base class of every error raised by the MQTT transport."""


class MqttConfigError(MqttError, ValueError):
    """A broker URL or option that cannot work (bad scheme, port, missing client id ...)."""


class MqttConnectError(MqttError):
    """The broker could not be reached or refused the connection."""

    def __init__(self, message: str, reason_code: int | None = None) -> None:
        super().__init__(message)
        self.reason_code = reason_code


class MqttAuthError(MqttConnectError):
    """The broker refused the credentials (bad user name or password, not authorised)."""


class MqttTlsError(MqttConnectError):
    """The TLS handshake failed: unknown CA, wrong host name, bad client certificate."""


class MqttConnectionLost(MqttError):
    """An established connection dropped; the client reconnects by itself."""

    def __init__(self, message: str, reason_code: int | None = None) -> None:
        super().__init__(message)
        self.reason_code = reason_code


def connect_error(reason: ReasonCode) -> MqttConnectError:
    """The error a failed CONNACK stands for."""
    code = reason.value
    text = f"broker refused the connection: {reason.getName()} ({code})"
    if code in _AUTH_REASONS:
        return MqttAuthError(text, code)
    return MqttConnectError(text, code)


def disconnect_error(reason: ReasonCode) -> MqttConnectionLost:
    """The error an unexpected disconnection stands for (server DISCONNECT or a dropped socket)."""
    return MqttConnectionLost(f"connection lost: {reason.getName()} ({reason.value})", reason.value)


def socket_error(exc: BaseException, where: str) -> MqttConnectError:
    """A socket or TLS exception met while connecting, as a transport error."""
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return MqttTlsError(f"TLS handshake with {where} failed: {exc}")
    return MqttConnectError(f"cannot connect to {where}: {exc}")


def check(rc: MQTTErrorCode, action: str) -> None:
    """Raise an MqttError when a paho call returned anything but success."""
    if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
        raise MqttError(f"{action} failed: {rc.name}")

"""Serial RFID readers: protocol framers (ThingMagic, Chafon 18/288, R2000, text lines) and a reconnecting driver."""

from __future__ import annotations

from hardware.errors import UnknownProtocol
from hardware.serial.chafon import Chafon18Protocol, Chafon288Protocol
from hardware.serial.driver import DriverStats, OnEvent, OnRead, OnRejection, SerialReaderDriver
from hardware.serial.framing import Decoded, FramerStats, ReaderProtocol, event_name
from hardware.serial.r2000 import R2000Protocol
from hardware.serial.sink import ReadQueue
from hardware.serial.text import TextLineProtocol
from hardware.serial.thingmagic import ThingMagicProtocol

PROTOCOLS: dict[str, type[ReaderProtocol]] = {
    cls.name: cls
    for cls in (ThingMagicProtocol, Chafon18Protocol, Chafon288Protocol, R2000Protocol, TextLineProtocol)
}


def make_protocol(name: str, *, reader: str | None = None) -> ReaderProtocol:
    """A fresh protocol object for a configured `protocol = "..."` name."""
    try:
        return PROTOCOLS[name](reader=reader)
    except KeyError:
        raise UnknownProtocol(f"unknown serial protocol {name!r}; expected one of {', '.join(PROTOCOLS)}") from None


def open_driver(
    port_url: str,
    protocol: str,
    *,
    baudrate: int | None = None,
    reader_id: str | None = None,
    on_read: OnRead | None = None,
    on_event: OnEvent | None = None,
    on_rejection: OnRejection | None = None,
    expected_serial: str | None = None,
    start: bool = True,
) -> SerialReaderDriver:
    """A driver for one `[[readers]]` entry with `transport = "serial"`, started unless start=False."""
    driver = SerialReaderDriver(
        port_url,
        make_protocol(protocol, reader=reader_id),
        baudrate=baudrate,
        on_read=on_read,
        on_event=on_event,
        on_rejection=on_rejection,
        expected_serial=expected_serial,
    )
    return driver.start() if start else driver


__all__ = [
    "PROTOCOLS",
    "Chafon18Protocol",
    "Chafon288Protocol",
    "Decoded",
    "DriverStats",
    "FramerStats",
    "R2000Protocol",
    "ReadQueue",
    "ReaderProtocol",
    "SerialReaderDriver",
    "TextLineProtocol",
    "ThingMagicProtocol",
    "event_name",
    "make_protocol",
    "open_driver",
]

"""The serial read loop: open a port by URL, send the protocol's commands, deliver reads, survive unplugging.

One thread per reader. When the port cannot be opened, fails, or a reader that
should keep talking falls silent, the driver reports READER_OFFLINE (so the
reader's zones become unknown rather than empty), retries with exponential
backoff, and reports READER_ONLINE once the reader answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import serial

from hardware.errors import PortLost, PortUnavailable, UnknownProtocol, opening, transferring
from hardware.serial.framing import Decoded, ReaderProtocol
from rfid.reads import ReaderEvent, ReaderEventKind, Rejection, TagRead

log = logging.getLogger(__name__)

# Tunable timings (module constants so tests can shorten them).
READ_TIMEOUT_S = 0.05  # longest a read blocks: bounds how fast stop() and silence checks react
WRITE_TIMEOUT_S = 2.0
FRAME_GAP_S = 0.25  # a partial frame with no new byte for this long is reported truncated
SILENCE_RESTART_S = 3.0  # no valid frame for this long: re-send the protocol's restart commands
SILENCE_OFFLINE_S = 10.0  # no valid frame for this long: the reader is offline although the port is open
RECONNECT_INITIAL_S = 0.5
RECONNECT_MAX_S = 30.0
STOP_JOIN_S = 5.0

OnRead = Callable[[TagRead], None]
OnEvent = Callable[[ReaderEvent], None]
OnRejection = Callable[[Rejection], None]


@dataclass(slots=True)
class DriverStats:
    """Connection counters of one driver (the framing counters are in `driver.protocol.stats`)."""

    opens: int = 0
    open_failures: int = 0
    port_losses: int = 0
    silences: int = 0
    callback_errors: int = 0
    withheld_reads: int = 0  # reads from a reader whose serial number is not the expected one


class SerialReaderDriver:
    """Owns one serial reader: a thread that reads, decodes and delivers, reconnecting with backoff."""

    def __init__(
        self,
        port_url: str,
        protocol: ReaderProtocol,
        *,
        baudrate: int | None = None,
        on_read: OnRead | None = None,
        on_event: OnEvent | None = None,
        on_rejection: OnRejection | None = None,
        expected_serial: str | None = None,
        serial_options: dict[str, Any] | None = None,
    ) -> None:
        self.port_url = port_url
        self.protocol = protocol
        self.baudrate = baudrate or protocol.default_baudrate
        self.expected_serial = expected_serial.upper() if expected_serial else None
        if self.expected_serial and not protocol.reports_serial:
            raise UnknownProtocol(f"{protocol.name} readers do not report a serial number: drop expected_serial")
        self.stats = DriverStats()
        self._on_read = on_read
        self._on_event = on_event
        self._on_rejection = on_rejection
        self._serial_options = serial_options or {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._online: bool | None = None  # None until the first success or failure
        self.last_error: str | None = None

    @property
    def online(self) -> bool:
        """True while the port is open and (for talking protocols) the reader answers."""
        return bool(self._online)

    @property
    def reader_id(self) -> str | None:
        """The id carried by this reader's reads and events."""
        return self.protocol.reader_id

    def start(self) -> SerialReaderDriver:
        """Start the read loop thread (idempotent)."""
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name=f"serial-reader-{self.port_url}", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop inventory, close the port and join the thread."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(STOP_JOIN_S if timeout is None else timeout)
            self._thread = None

    def __enter__(self) -> SerialReaderDriver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        delay = RECONNECT_INITIAL_S
        while not self._stopping.is_set():
            try:
                port = self._open()
            except PortUnavailable as exc:
                self.stats.open_failures += 1
                self._go_offline(exc.reason)
            else:
                self.stats.opens += 1
                try:
                    if self._session(port):
                        delay = RECONNECT_INITIAL_S  # the reader talked: the next outage starts a fresh backoff
                except PortLost as exc:
                    self.stats.port_losses += 1
                    self._deliver(self.protocol.flush())  # a frame cut by the unplugging is truncated
                    self._go_offline(exc.reason)
                finally:
                    self._close(port)
            if self._stopping.wait(delay):
                break
            delay = min(delay * 2, RECONNECT_MAX_S)
        self.protocol.reset()  # we stopped mid-stream: the rest of a partial frame is on the wire, not lost

    def _open(self) -> serial.SerialBase:
        with opening(self.port_url):
            options = {"timeout": READ_TIMEOUT_S, "write_timeout": WRITE_TIMEOUT_S, **self._serial_options}
            return serial.serial_for_url(self.port_url, baudrate=self.baudrate, **options)

    def _close(self, port: serial.SerialBase) -> None:
        try:
            port.close()
        except (serial.SerialException, OSError) as exc:  # closing a vanished device: nothing left to do
            log.debug("closing %s: %s", self.port_url, exc)

    def _write(self, port: serial.SerialBase, commands: list[bytes]) -> None:
        for command in commands:
            with transferring(self.port_url):
                port.write(command)

    def _session(self, port: serial.SerialBase) -> bool:
        """Read until stop() or an error; True if the reader sent at least one valid frame."""
        protocol = self.protocol
        talked = False
        if not protocol.expects_traffic:
            self._go_online("port open")
        self._write(port, protocol.startup_commands())
        now = time.monotonic()
        last_byte = last_frame = last_restart = now
        dirty = False  # bytes were fed since the last flush
        while not self._stopping.is_set():
            with transferring(self.port_url):
                data = port.read(max(1, port.in_waiting))
            now = time.monotonic()
            frames_before = protocol.stats.frames_ok
            if data:
                last_byte, dirty = now, True
                self._deliver(protocol.feed(data))
            elif dirty and now - last_byte >= FRAME_GAP_S:
                dirty = False
                self._deliver(protocol.flush())
            if protocol.stats.frames_ok > frames_before:
                talked, last_frame = True, now
                mismatch = self._serial_mismatch()
                if mismatch:
                    self._go_offline(mismatch)
                elif self.expected_serial is None or protocol.reader_serial is not None:
                    self._go_online("reader answered")  # with an expected serial: only once it is confirmed
            self._write(port, protocol.take_commands())
            if protocol.expects_traffic and now - max(last_frame, last_restart) >= SILENCE_RESTART_S:
                last_restart = now
                self._write(port, protocol.restart_commands())
            if protocol.expects_traffic and self._online and now - last_frame >= SILENCE_OFFLINE_S:
                self.stats.silences += 1
                self._go_offline(f"silent for {SILENCE_OFFLINE_S:g} s")
        try:
            self._write(port, protocol.stop_commands())
            port.flush()
        except (PortLost, serial.SerialException, OSError) as exc:
            log.debug("stopping %s: %s", self.port_url, exc)
        return talked

    def _go_online(self, why: str) -> None:
        if self._online is not True:
            self._online = True
            self.last_error = None
            log.info("serial reader %s on %s online (%s)", self.reader_id, self.port_url, why)
            self._emit(ReaderEventKind.READER_ONLINE, why)

    def _go_offline(self, why: str) -> None:
        self.last_error = why
        if self._online is not False:
            self._online = False
            log.warning("serial reader %s on %s offline: %s", self.reader_id, self.port_url, why)
            self._emit(ReaderEventKind.READER_OFFLINE, why)

    def _emit(self, kind: ReaderEventKind, why: str) -> None:
        now = datetime.now(UTC)
        self._deliver([ReaderEvent(kind, self.reader_id, None, now, None, why, self.protocol.name)])

    def _deliver(self, items: list[Decoded]) -> None:
        for item in items:
            try:
                if isinstance(item, TagRead):
                    if self._wrong_reader():
                        self.stats.withheld_reads += 1
                    elif self._on_read is not None:
                        self._on_read(item)
                elif isinstance(item, ReaderEvent):
                    if self._on_event is not None:
                        self._on_event(item)
                elif self._on_rejection is not None:
                    self._on_rejection(item)
            except Exception:  # a failing consumer must not kill the read loop
                self.stats.callback_errors += 1
                log.exception("serial reader %s: callback failed", self.reader_id)

    def _wrong_reader(self) -> bool:
        return self._serial_mismatch() is not None

    def _serial_mismatch(self) -> str | None:
        """Why this reader's reads must be withheld (a swapped cable or /dev/ttyUSB renumbering), or None."""
        reported = self.protocol.reader_serial
        if self.expected_serial is None or reported is None or reported == self.expected_serial:
            return None
        return f"serial number {reported} is not the expected {self.expected_serial}"

"""Framing apart from I/O: a protocol object is fed bytes in any chunking and returns reads, events and rejections.

`BinaryFramer` holds the one resynchronisation rule shared by the binary dialects:
a frame is accepted only when its length is plausible and its check (CRC or LRC)
matches; a complete frame with a bad check is skipped whole when the next frame
starts right after it (its length byte was right), otherwise only its first byte
is dropped and the scan resumes one byte further, because the length itself may
be the corrupted byte. Bytes skipped that way are reported as one `noise` or
`truncated` rejection when the next good frame arrives. Every decision waits for
the bytes it looks at, so the output does not depend on how the input was chunked.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import ClassVar

from rfid.reads import ReaderEvent, ReaderEventKind, Rejection, TagRead

Decoded = TagRead | ReaderEvent | Rejection

# Frame event names, carried as the first word of `ReaderEvent.detail` (the rest, if any, is key=value detail).
KEEPALIVE = "keepalive"
END_OF_ROUND = "end_of_round"
READER_INFO = "reader_info"
READER_SERIAL = "reader_serial"

# Rejection reasons.
BAD_CRC = "bad_crc"
TRUNCATED = "truncated"
NOISE = "noise"

# Skipped bytes are reported in runs of at most this many, so a reader on the wrong baud rate
# (a stream that is all noise) still produces rejections instead of an ever-growing buffer.
MAX_NOISE_RUN = 4096


def utc_now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


@dataclass(slots=True)
class FramerStats:
    """Counters of one protocol object: what came in, what was accepted, what was thrown away and why."""

    bytes_in: int = 0
    frames_ok: int = 0
    crc_errors: int = 0
    truncated: int = 0
    noise_bytes: int = 0
    malformed: int = 0  # frames with a good check whose content did not make sense
    reads: int = 0
    events: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name (for logs, metrics and the CLI)."""
        return {f.name: int(getattr(self, f.name)) for f in fields(self)}


def event_name(event: ReaderEvent) -> str:
    """The frame event's name: the first word of its detail, else its kind."""
    return (event.detail or event.kind.value).split(" ", 1)[0]


class ReaderProtocol(abc.ABC):
    """One reader dialect: bytes in (any chunking) -> reads, events and rejections; plus the commands to send."""

    name: ClassVar[str]
    default_baudrate: ClassVar[int] = 115200
    # Whether a healthy reader keeps talking (keep-alives, polled rounds): silence then means it is gone.
    expects_traffic: ClassVar[bool] = True
    reports_serial: ClassVar[bool] = False  # whether start-up asks the reader for its serial number

    def __init__(self, *, reader: str | None = None, clock: Callable[[], datetime] = utc_now) -> None:
        self.reader = reader  # the configured id; None means "use the serial number the reader reports"
        self.reader_serial: str | None = None  # as reported by the reader, once it answered
        self.stats = FramerStats()
        self._clock = clock
        self._pending: list[bytes] = []

    @property
    def reader_id(self) -> str | None:
        """The id put on reads: the configured one, else `<protocol>:<reported serial>`."""
        if self.reader is not None:
            return self.reader
        return f"{self.name}:{self.reader_serial}" if self.reader_serial else None

    def feed(self, data: bytes) -> list[Decoded]:
        """Everything the new bytes complete, in stream order; incomplete bytes wait for the next call."""
        self.stats.bytes_in += len(data)
        return self._count(self._parse(data, final=False))

    def flush(self) -> list[Decoded]:
        """End of input (or a silent line): report what is left as truncated or noise and empty the buffer."""
        return self._count(self._parse(b"", final=True))

    def reset(self) -> None:
        """Forget buffered bytes without reporting them (we closed the port mid-frame, not the reader)."""

    def startup_commands(self) -> list[bytes]:
        """Commands sent after the port opens: identify the reader, then start the inventory."""
        return []

    def stop_commands(self) -> list[bytes]:
        """Commands sent before the port closes, to stop a continuous inventory."""
        return []

    def restart_commands(self) -> list[bytes]:
        """Commands re-sent when the line has been silent too long (a lost poll, a reader that stopped reading)."""
        return []

    def take_commands(self) -> list[bytes]:
        """Commands the stream asks for (e.g. the next inventory round after an end of round); emptied by the call."""
        pending, self._pending = self._pending, []
        return pending

    def _count(self, out: list[Decoded]) -> list[Decoded]:
        for item in out:
            if isinstance(item, TagRead):
                self.stats.reads += 1
            elif isinstance(item, ReaderEvent):
                self.stats.events += 1
        return out

    def _event(self, kind: ReaderEventKind, detail: str, raw: bytes, antenna: int | None = None) -> ReaderEvent:
        return ReaderEvent(kind, self.reader_id, None, self._clock(), antenna, detail, self.name, raw)

    def _status(self, detail: str, raw: bytes, antenna: int | None = None) -> ReaderEvent:
        return self._event(ReaderEventKind.INVENTORY_STATUS, detail, raw, antenna)

    def _malformed(self, why: str, raw: bytes) -> Rejection:
        self.stats.malformed += 1
        return Rejection(f"malformed: {why}", raw, None, self.name)

    def _read(self, epc: bytes, raw: bytes, antenna: int | None, rssi: float | None, seen_at: datetime | None = None, *,
              count: int = 1, frequency_khz: int | None = None, phase_deg: float | None = None,
              frequency_index: int | None = None) -> TagRead:
        return TagRead(epc.hex().upper(), self.reader_id, antenna, rssi, seen_at, self._clock(), count, None, self.name, raw,
                       frequency_khz, phase_deg, frequency_index)

    @abc.abstractmethod
    def _parse(self, data: bytes, *, final: bool) -> list[Decoded]:
        """Append `data` to the buffer and decode what it completes (everything, when final)."""


class BinaryFramer(ReaderProtocol):
    """Length-prefixed, checksummed frames with resynchronisation; subclasses describe their layout."""

    header: ClassVar[int | None] = None  # a fixed first byte (0xFF, 0xA0), or None when the frame starts with its length

    def __init__(self, *, reader: str | None = None, clock: Callable[[], datetime] = utc_now) -> None:
        super().__init__(reader=reader, clock=clock)
        self._buffer = bytearray()
        self._junk = bytearray()
        self._junk_is_frame = False  # the skipped run began with a plausible frame start: a truncated frame

    def reset(self) -> None:
        """Forget buffered and skipped bytes."""
        self._buffer.clear()
        self._junk.clear()

    @abc.abstractmethod
    def frame_length(self, buffer: bytearray, start: int) -> int | None:
        """The whole frame's length if the bytes at `start` are a plausible frame start, 0 if not, None if more bytes are needed."""

    @abc.abstractmethod
    def check(self, frame: bytes) -> bool:
        """True when the frame's CRC or LRC matches."""

    @abc.abstractmethod
    def decode(self, frame: bytes) -> list[Decoded]:
        """Reads, events or rejections from one frame whose check matched."""

    def _parse(self, data: bytes, *, final: bool) -> list[Decoded]:
        buffer = self._buffer
        buffer += data
        out: list[Decoded] = []
        pos = 0
        while pos < len(buffer):
            if self.header is not None and buffer[pos] != self.header:
                found = buffer.find(self.header, pos)
                end = len(buffer) if found < 0 else found
                end = min(end, pos + MAX_NOISE_RUN - len(self._junk))
                self._skip(buffer[pos:end], out, frame_start=False)
                pos = end
                continue
            length = self.frame_length(buffer, pos)
            if length == 0 or (length is None and final):
                self._skip(buffer[pos : pos + 1], out, frame_start=length is None)
                pos += 1
                continue
            if length is None:
                break
            end = pos + length
            if end > len(buffer):
                if not final:
                    break
                self._skip(buffer[pos : pos + 1], out, frame_start=True)
                pos += 1
                continue
            frame = bytes(buffer[pos:end])
            confirmed = True
            if not final and self.check(frame) and self.needs_confirmation(frame):
                following = self.frame_length(buffer, end) if end < len(buffer) else None
                if following is None:
                    break  # wait: a frame must start right after this one
                confirmed = following != 0
            if confirmed and self.check(frame):
                self._report_junk(out)
                self.stats.frames_ok += 1
                out.extend(self.decode(frame))
                pos = end
                continue
            if not confirmed:  # a weak check passed by chance: nothing plausible follows
                self._skip(buffer[pos : pos + 1], out, frame_start=True)
                pos += 1
                continue
            # A bad check: skip the whole frame only if a good frame follows right after it (or
            # the input ends there), i.e. if its length byte was right; else resume one byte on.
            follows = True if end == len(buffer) and final else self._valid_at(buffer, end, final)
            if follows is None:
                break  # wait for the bytes that decide
            # ... and only if no good frame starts inside its span (a corrupted length must not swallow frames).
            if follows and not any(self._valid_at(buffer, inner, True) for inner in range(pos + 1, end)):
                self._report_junk(out)
                self.stats.crc_errors += 1
                out.append(Rejection(BAD_CRC, frame, None, self.name))
                pos = end
                continue
            self._skip(buffer[pos : pos + 1], out, frame_start=True)
            pos += 1
        del buffer[:pos]
        if final:
            self._report_junk(out)
        return out

    def needs_confirmation(self, frame: bytes) -> bool:
        """True when a frame whose check matched must also be followed by a plausible frame start (weak checks)."""
        return False

    def _valid_at(self, buffer: bytearray, start: int, final: bool) -> bool | None:
        """Whether a frame with a good check starts at `start`; None while more bytes are needed to tell."""
        length = self.frame_length(buffer, start) if start < len(buffer) else None
        if length is None or start + length > len(buffer):
            return False if final else None
        return length > 0 and self.check(bytes(buffer[start : start + length]))

    def _skip(self, chunk: bytearray, out: list[Decoded], *, frame_start: bool) -> None:
        if not self._junk:
            self._junk_is_frame = frame_start
        self._junk += chunk
        if len(self._junk) >= MAX_NOISE_RUN:
            self._report_junk(out)

    def _report_junk(self, out: list[Decoded]) -> None:
        if not self._junk:
            return
        raw = bytes(self._junk)
        self._junk.clear()
        if self._junk_is_frame:
            self.stats.truncated += 1
            out.append(Rejection(TRUNCATED, raw, None, self.name))
        else:
            self.stats.noise_bytes += len(raw)
            out.append(Rejection(NOISE, raw, None, self.name))

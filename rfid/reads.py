"""Normalised reader output: tag reads, reader events and rejected input, as frozen dataclasses."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class TagRead:
    """One tag report from a reader, in the same units whatever the vendor."""

    epc: str  # upper-case hex of the EPC bank (no PC, no CRC)
    reader: str | None  # from the payload (Impinj hostname) or from the caller (MQTT topic, config)
    antenna: int | None  # 1-based port; None when the format has no antenna
    rssi_dbm: float | None
    seen_at: datetime | None  # the reader's clock (UTC), which may be wrong or missing
    received_at: datetime  # our clock (UTC) when the payload arrived
    count: int = 1  # times the tag was seen in this report (Zebra `reads`)
    seq: int | None = None  # per-reader sequence number (Zebra `eventNum`); gaps mean lost events
    source: str = ""  # the format that produced it: "impinj", "zebra", "text"
    # The payload (or line) the read came from; shared, not copied, by the reads of one payload.
    raw: bytes = field(default=b"", repr=False, compare=False)
    # Radio metadata, where the reader reports it (None otherwise); for locating tags and diagnosing interference.
    frequency_khz: int | None = None  # carrier frequency of the read (Impinj `frequency`, Zebra `channel`, ThingMagic)
    phase_deg: float | None = None  # phase angle of the tag's reply, degrees as the reader reports it
    # The reader's channel number when it reports a channel, not a frequency (R2000 FreqAnt bits 2-7): its
    # frequency depends on the region's channel plan configured in the module, which the frames do not carry.
    frequency_index: int | None = None

    @property
    def at(self) -> datetime:
        """The reader's timestamp when it gave one, else the time of receipt."""
        return self.seen_at if self.seen_at is not None else self.received_at


class ReaderEventKind(str, enum.Enum):
    """What a non-read message from a reader tells about the reader itself."""

    ANTENNA_CONNECTED = "antenna_connected"
    ANTENNA_DISCONNECTED = "antenna_disconnected"
    INVENTORY_STATUS = "inventory_status"  # detail: "running", "idle", "armed" ...
    OVERFLOW = "overflow"  # the reader dropped events: silence may not mean absence
    READER_ONLINE = "reader_online"  # e.g. the MQTT birth message "connected"
    READER_OFFLINE = "reader_offline"  # e.g. the MQTT will message "connection lost"
    SEQUENCE_GAP = "sequence_gap"  # detail: how many sequence numbers were skipped
    OTHER = "other"  # a well-formed event we do not act on (detail: its type)


@dataclass(frozen=True, slots=True)
class ReaderEvent:
    """Something that happened to a reader (not a tag), e.g. an antenna disconnected."""

    kind: ReaderEventKind
    reader: str | None
    at: datetime | None  # reader's clock, when given
    received_at: datetime
    antenna: int | None = None
    detail: str | None = None
    source: str = ""
    raw: bytes = field(default=b"", repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Rejection:
    """Input that could not be turned into a read or an event, and why."""

    reason: str
    raw: bytes = field(default=b"", repr=False, compare=False)
    index: int | None = None  # position of the element within an array payload, or the line number
    source: str = ""


@dataclass(slots=True)
class ParseResult:
    """Everything one payload produced: reads, reader events and rejections (never an exception)."""

    reads: list[TagRead] = field(default_factory=list)
    events: list[ReaderEvent] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    def extend(self, other: ParseResult) -> None:
        """Append another result's reads, events and rejections to this one."""
        self.reads.extend(other.reads)
        self.events.extend(other.events)
        self.rejections.extend(other.rejections)

    @property
    def ok(self) -> bool:
        """True when nothing in the payload was rejected."""
        return not self.rejections

"""Lost-event detection from per-reader sequence numbers (Zebra `eventNum`)."""

from __future__ import annotations

from rfid.reads import ReaderEvent, ReaderEventKind, TagRead


class SequenceTracker:
    """Remembers each reader's last sequence number and reports forward jumps as SEQUENCE_GAP events."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[str | None, int] = {}

    def check(self, read: TagRead) -> ReaderEvent | None:
        """A SEQUENCE_GAP event (detail: how many numbers were skipped) if events were lost before `read`."""
        if read.seq is None:
            return None
        last = self._last.get(read.reader)
        # Only move forward: a lower number is a QoS 1 redelivery or a reader restart, not a gap.
        if last is None or read.seq > last:
            self._last[read.reader] = read.seq
        elif read.seq < last - 1_000_000:  # counter wrapped or reset far back: start again from here
            self._last[read.reader] = read.seq
        if last is None or read.seq <= last + 1:
            return None
        missing = read.seq - last - 1
        return ReaderEvent(ReaderEventKind.SEQUENCE_GAP, read.reader, read.seen_at, read.received_at, None, str(missing), read.source)

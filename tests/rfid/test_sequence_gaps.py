"""Gaps in Zebra eventNum sequences become SEQUENCE_GAP reader events."""

from __future__ import annotations

from datetime import UTC, datetime

from rfid.reads import ReaderEventKind, TagRead
from rfid.sequence import SequenceTracker

NOW = datetime(2024, 3, 5, tzinfo=UTC)


def tag_read(seq: int | None, reader: str = "fx") -> TagRead:
    return TagRead("ABCD", reader, 1, -50.0, None, NOW, 1, seq, "zebra")


def test_gaps_are_reported_with_the_number_missing() -> None:
    tracker = SequenceTracker()
    assert [tracker.check(tag_read(s)) for s in (1, 2, 3)] == [None, None, None]
    gap = tracker.check(tag_read(7))
    assert gap is not None and gap.kind is ReaderEventKind.SEQUENCE_GAP and gap.detail == "3" and gap.reader == "fx"


def test_redeliveries_readers_and_unsequenced_reads_are_not_gaps() -> None:
    tracker = SequenceTracker()
    for seq in (10, 11, 10, 11, 12):  # QoS 1 redelivery of 10 and 11
        assert tracker.check(tag_read(seq)) is None
    assert tracker.check(tag_read(500, reader="other")) is None  # each reader has its own counter
    assert tracker.check(tag_read(None)) is None
    assert tracker.check(tag_read(14)) is not None

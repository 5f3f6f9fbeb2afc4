"""No byte string crashes a parser: every input ends as reads, events or rejections."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from rfid.payloads import PARSERS, parse_auto, parse_status
from rfid.reads import ParseResult

RECEIVED = datetime(2024, 1, 1, tzinfo=UTC)
ALL_PARSERS = [*PARSERS.values(), parse_auto, parse_status]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
keys = st.sampled_from(
    ["data", "idHex", "antenna", "peakRssi", "reads", "eventNum", "format", "type", "timestamp", "hostname",
     "eventType", "tagInventoryEvent", "epcHex", "epc", "antennaPort", "peakRssiCdbm", "lastSeenTime", "overflowEvent"]
)
# Documents shaped like reader payloads, with the right keys holding wrong values.
shaped = st.recursive(
    json_values,
    lambda inner: st.dictionaries(keys, inner, max_size=6) | st.lists(st.dictionaries(keys, inner, max_size=6), max_size=3),
    max_leaves=20,
)


def _check(result: ParseResult) -> None:
    assert isinstance(result, ParseResult)
    for read in result.reads:
        assert read.epc and read.epc == read.epc.upper()
        assert read.count >= 1 and read.received_at == RECEIVED
        assert read.seen_at is None or read.seen_at.utcoffset() is not None
    for rejection in result.rejections:
        assert rejection.reason


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_no_bytes_crash_any_parser(raw: bytes) -> None:
    for parser in ALL_PARSERS:
        _check(parser(raw, reader=None, received_at=RECEIVED))


@settings(max_examples=400, deadline=None)
@given(shaped)
def test_no_payload_shaped_json_crashes_any_parser(document: object) -> None:
    raw = json.dumps(document).encode()
    for parser in ALL_PARSERS:
        _check(parser(raw, reader="r", received_at=RECEIVED))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789abcdefABCDEF xX,;\t\r\n-.+:TZ#", max_size=200))
def test_no_text_lines_crash_the_text_parser(text: str) -> None:
    for parser in ALL_PARSERS:
        _check(parser(text.encode(), received_at=RECEIVED))


def test_deeply_nested_json_is_a_rejection_not_a_recursion_error() -> None:
    raw = b"[" * 100_000 + b"]" * 100_000
    for parser in ALL_PARSERS:
        result = parser(raw, received_at=RECEIVED)
        assert not result.reads

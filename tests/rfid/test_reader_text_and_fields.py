"""Plain-text reader lines, and the field conversions every parser shares."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from rfid.payloads import parse_text, parse_timestamp
from rfid.payloads.fields import as_float, as_int, epc_hex_from_base64, normalise_epc_hex


def test_text_fixture_parses_every_column_layout(payload: Callable[[str], bytes], received: datetime) -> None:
    result = parse_text(payload("handheld.txt"), reader="desk-1", received_at=received)
    assert [(r.epc, r.antenna, r.rssi_dbm) for r in result.reads] == [
        ("3034257BF7194E40000003E9", None, None),
        ("3034257BF7194E40000003EA", 2, None),
        ("3074257BF7194E4000001A85", 1, -47.5),
        ("E2801190A5021F80055817CA", 4, -63.0),
        ("3034257BF400004000000007", None, -71.0),
        ("3034257BF7194E40000003E9", 1, -55.0),
    ]
    assert result.reads[-1].seen_at == datetime(2024, 3, 5, 14, 2, 11, 500000, tzinfo=UTC)
    assert all(r.reader == "desk-1" and r.source == "text" and r.count == 1 for r in result.reads)
    assert result.reads[1].raw == b"3034257bf7194e40000003ea\t2"
    (rejection,) = result.rejections
    assert rejection.index == 8 and "not a hex EPC" in rejection.reason


@pytest.mark.parametrize(
    ("line", "reason"),
    [(b"ABCD 1 2", "unrecognised column"), (b"ABCD loud", "unrecognised column"), (b"ABC", "not a hex EPC"),
     (b"ABCD -40 -41", "unrecognised column"), (b"ABCD 0", "unrecognised column"), (b"ABCD 1 +9000.5", "RSSI out of range")],
)
def test_text_rejections(line: bytes, reason: str, received: datetime) -> None:
    result = parse_text(line, received_at=received)
    assert not result.reads and reason in result.rejections[0].reason


def test_text_keyboard_wedge_crlf_and_blank_lines(received: datetime) -> None:
    result = parse_text(b"ABCD\r\n\r\nBEEF\r# note\rCAFE\n", received_at=received)
    assert [r.epc for r in result.reads] == ["ABCD", "BEEF", "CAFE"] and result.ok


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-07-09T23:35:59.278427551Z", datetime(2021, 7, 9, 23, 35, 59, 278427, tzinfo=UTC)),
        ("2023-02-24T10:14:42.851+0000", datetime(2023, 2, 24, 10, 14, 42, 851000, tzinfo=UTC)),
        ("2023-02-24T04:14:42.851-0600", datetime(2023, 2, 24, 10, 14, 42, 851000, tzinfo=UTC)),
        ("2023-02-24T11:14:42+01:00", datetime(2023, 2, 24, 10, 14, 42, tzinfo=UTC)),
        ("2023-02-24T10:14:42", datetime(2023, 2, 24, 10, 14, 42, tzinfo=UTC)),  # no offset: taken as UTC
        ("2000-01-01T00:00:00.5Z", datetime(2000, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),  # a stuck reader clock is still a time
    ],
)
def test_parse_timestamp(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "yesterday", "2023-02-30T00:00:00Z", "2023-02-24T25:00:00Z", "2023-02-24T10:14:42.1234567890Z",
     "2023-02-24T10:14:42+2400", "0001-01-01T00:00:00+0100", "２０２３-02-24T10:14:42Z", None, 1677233682],
)
def test_parse_timestamp_rejects(text: object) -> None:
    assert parse_timestamp(text) is None


def test_field_conversions() -> None:
    assert normalise_epc_hex(" 0xab cd ") == "ABCD"
    assert normalise_epc_hex("ABC") is None and normalise_epc_hex("") is None and normalise_epc_hex(12) is None
    assert normalise_epc_hex("AB" * 63) is None  # longer than any EPC bank
    assert epc_hex_from_base64("MDQle/cZTkAAAAPp") == "3034257BF7194E40000003E9"
    assert epc_hex_from_base64("not base64!") is None and epc_hex_from_base64("") is None
    assert as_int(3) == 3 and as_int(3.0) == 3 and as_int("12") == 12 and as_int(True) is None and as_int("²") is None
    assert as_float(-54) == -54.0 and as_float("-54.5") == -54.5
    assert as_float(float("nan")) is None and as_float("inf") is None and as_float(False) is None

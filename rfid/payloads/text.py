"""Plain-text readers: one hex EPC per line, optionally with antenna, RSSI and timestamp columns."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from rfid.payloads.fields import as_float, normalise_epc_hex, parse_timestamp, plausible_rssi
from rfid.reads import ParseResult, Rejection, TagRead

SOURCE = "text"

# Columns may be separated by blanks, tabs, commas or semicolons (CSV exports, serial consoles).
_SEPARATORS = re.compile(r"[\s,;]+")
_ANTENNA = re.compile(r"[0-9]{1,5}")
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def parse_text(payload: bytes, *, reader: str | None = None, received_at: datetime | None = None) -> ParseResult:
    """One read per non-blank line of `EPC [ANTENNA] [RSSI] [TIMESTAMP]`; `#` starts a comment line."""
    received = received_at or datetime.now(UTC)
    result = ParseResult()
    for number, line in enumerate(_LINE_BREAK.split(payload), start=1):
        text = line.decode("utf-8", "replace").strip()
        if not text or text.startswith("#"):
            continue
        outcome = _parse_line(text, line, reader, received)
        if isinstance(outcome, TagRead):
            result.reads.append(outcome)
        else:
            result.rejections.append(Rejection(outcome, line, number, SOURCE))
    return result


def _parse_line(text: str, raw: bytes, reader: str | None, received: datetime) -> TagRead | str:
    """One line -> a read, or the reason it was rejected."""
    # Empty tokens come from leading or trailing separators ("EPC;" from CSV exports): drop them.
    first, *columns = [token for token in _SEPARATORS.split(text) if token] or [""]
    epc = normalise_epc_hex(first)
    if epc is None:
        return f"not a hex EPC: {first[:40]!r}"
    antenna: int | None = None
    rssi: float | None = None
    seen_at: datetime | None = None
    for column in columns:
        # An unsigned small integer is an antenna port; a signed or decimal number is RSSI in dBm.
        if antenna is None and _ANTENNA.fullmatch(column) and 0 < int(column) < 65536:
            antenna = int(column)
        elif rssi is None and (column[0] in "+-" or "." in column) and (value := as_float(column)) is not None:
            if not plausible_rssi(value):
                return f"RSSI out of range: {column[:40]!r}"
            rssi = value
        elif seen_at is None and (stamp := parse_timestamp(column)) is not None:
            seen_at = stamp
        else:
            return f"unrecognised column: {column[:40]!r}"
    return TagRead(epc, reader, antenna, rssi, seen_at, received, 1, None, SOURCE, raw)

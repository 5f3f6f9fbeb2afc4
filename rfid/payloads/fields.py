"""Checked conversion of reader payload fields: timestamps, EPC hex, numbers, JSON documents.

Each function returns None (or a reason) for bad input instead of raising, so a
parser can turn it into a rejection and move on.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from rfid.reads import ParseResult, ReaderEvent, Rejection, TagRead

# EPC memory bank is at most 496 bits (31 words) beyond PC; anything longer is not an EPC.
MAX_EPC_HEX_DIGITS = 124
# Reads of one tag a single report may aggregate (Zebra `reads`): far above any reader's, low enough to smooth.
MAX_READ_COUNT = 1_000_000
# Signal strengths a read may report, in dBm: wider than any UHF reader's (about -100 to +10), narrow enough
# that smoothing's 10 ** (dBm / 10) stays a finite float. Outside it, the read is rejected.
MIN_RSSI_DBM = -200.0
MAX_RSSI_DBM = 100.0
# Carrier frequencies a read may report, in kHz: 1 kHz to 10 GHz holds every RFID band (LF to microwave);
# anything outside it is not a frequency.
MIN_FREQUENCY_KHZ = 1
MAX_FREQUENCY_KHZ = 10_000_000
# Phase angles a read may report, in degrees: readers count 0-180, 0-360 or -180-180.
MAX_PHASE_DEG = 360.0

_HEX = frozenset("0123456789ABCDEF")
# EPC hex that normalise_epc_hex would return unchanged: upper-case, whole bytes, nothing to strip.
_CANONICAL_EPC_HEX = re.compile(r"[0-9A-F]{2,%d}" % MAX_EPC_HEX_DIGITS)  # and an even length
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")

# ISO 8601 as readers write it: up to 9 fractional digits, offsets "Z", "+0000", "-06:00" or none.
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:[.,]([0-9]{1,9}))?"
    r" ?(Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)


_fromisoformat = datetime.fromisoformat


def _utc_fast(value: str) -> datetime | None:
    """The shapes readers send most, `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z`, through the C parser.

    None when the text is not exactly one of those shapes or not a valid time: the checked path then decides.
    The positions checked here rule out the other ISO 8601 forms fromisoformat accepts (week dates, basic
    format, no seconds) that the checked path rejects; fromisoformat itself takes only ASCII digits."""
    n = len(value)
    if (n != 20 and n != 24 and n != 27 and n != 30) or value[-1] != "Z" or value[10] != "T" or value[4] != "-" \
            or value[7] != "-" or value[13] != ":" or value[16] != ":" or (n > 20 and value[19] != "."):
        return None
    if n > 20:
        fraction = value[20:-1]
        if not (fraction.isascii() and fraction.isdigit()):
            return None
        if n == 30:  # nanoseconds: truncated to microseconds, as in the checked path
            value = value[:26] + "Z"
    try:
        return _fromisoformat(value)
    except ValueError:
        return None


def parse_timestamp(value: object) -> datetime | None:
    """An aware UTC datetime from a reader's ISO 8601 text (9-digit fractions, +0000 offsets), or None."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    fast = _utc_fast(value)
    return fast if fast is not None else _parse_timestamp_checked(value)


def _parse_timestamp_checked(value: str) -> datetime | None:
    """parse_timestamp's general path: every shape the readers may send, validated field by field."""
    match = _TIMESTAMP.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    # Fractions past microseconds are truncated: Python datetimes stop at 6 digits.
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    tz: timezone = UTC
    if offset and offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:] or "0")
        if hours > 23 or minutes > 59:
            return None
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tzinfo=tz)
        return local.astimezone(UTC)
    except (ValueError, OverflowError):  # month 13, 31 February, year 0 shifted out of range ...
        return None


def normalise_epc_hex(value: object) -> str | None:
    """Upper-case EPC hex without spaces or 0x, or None if it is not a whole number of bytes of hex."""
    if not isinstance(value, str):
        return None
    if not len(value) & 1 and _CANONICAL_EPC_HEX.fullmatch(value):  # already canonical: nothing to strip or upper-case
        return value
    return _normalise_epc_hex_checked(value)


def _normalise_epc_hex_checked(value: str) -> str | None:
    """normalise_epc_hex's general path: strip blanks, dashes and 0x, upper-case, check."""
    text = value.strip().replace(" ", "").replace("-", "").upper()
    if text.startswith("0X"):
        text = text[2:]
    if not text or len(text) % 2 or len(text) > MAX_EPC_HEX_DIGITS or not _HEX.issuperset(text):
        return None
    return text


def epc_hex_from_base64(value: object) -> str | None:
    """The upper-case hex of a base64-encoded EPC (Impinj `epc`), or None."""
    if not isinstance(value, str) or len(value) > MAX_EPC_HEX_DIGITS:
        return None
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data.hex().upper() if data else None


def as_int(value: object) -> int | None:
    """An integer from a JSON number (or a digit string); None for bools, fractions and garbage."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    return None


def plausible_rssi(dbm: float) -> bool:
    """Whether a signal strength in dBm is within what a read may report (see MIN_RSSI_DBM)."""
    return MIN_RSSI_DBM <= dbm <= MAX_RSSI_DBM


def as_float(value: object) -> float | None:
    """A finite float from a JSON number or numeric string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # a JSON integer beyond float range: garbage, not a crash of the parser
            return None
    elif isinstance(value, str) and len(value) < 32:
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def load_json_elements(payload: bytes) -> tuple[list[Any], bool, str | None]:
    """The elements of a JSON payload (an object is a one-element list), whether it was an array, or why not JSON."""
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return [], False, f"not JSON: {type(exc).__name__}"
    if isinstance(document, list):
        return document, True, None
    return [document], False, None


def element_bytes(element: object, payload: bytes, in_array: bool) -> bytes:
    """The raw bytes to keep for one element: the payload itself unless it was an array."""
    if not in_array:
        return payload
    try:
        return json.dumps(element, separators=(",", ":")).encode()
    except (ValueError, TypeError, RecursionError):
        return payload


ElementParser = Callable[[Any, bytes, str | None, datetime], TagRead | ReaderEvent | str]


def parse_json_elements(payload: bytes, source: str, parse_element: ElementParser, reader: str | None, received_at: datetime | None) -> ParseResult:
    """A JSON object or array of vendor events, each parsed by `parse_element` into a read, an event or a rejection reason."""
    received = received_at or datetime.now(UTC)
    result = ParseResult()
    elements, in_array, reason = load_json_elements(payload)
    if reason is not None:
        result.rejections.append(Rejection(reason, payload, None, source))
        return result
    for index, element in enumerate(elements):
        raw = element_bytes(element, payload, in_array)
        outcome = parse_element(element, raw, reader, received)
        if isinstance(outcome, TagRead):
            result.reads.append(outcome)
        elif isinstance(outcome, ReaderEvent):
            result.events.append(outcome)
        else:
            result.rejections.append(Rejection(outcome, raw, index if in_array else None, source))
    return result


def antenna_field(body: dict[str, Any], key: str) -> tuple[int | None, str | None]:
    """An optional 1-based antenna port from `body[key]`: (port or None, rejection reason or None)."""
    if key not in body:
        return None, None
    antenna = as_int(body[key])
    if antenna is None or not 0 < antenna < 65536:
        return None, f"bad {key}: {str(body[key])[:20]!r}"
    return antenna, None


def frequency_field(body: dict[str, Any], key: str, khz_per_unit: int) -> tuple[int | None, str | None]:
    """An optional carrier frequency from `body[key]` in kHz (units of `khz_per_unit` kHz: Zebra's MHz are 1000).

    Returns (kHz or None, rejection reason or None)."""
    if key not in body:
        return None, None
    value = as_float(body[key])
    khz = None if value is None else value * khz_per_unit
    if khz is None or not MIN_FREQUENCY_KHZ <= khz <= MAX_FREQUENCY_KHZ:
        return None, f"bad {key}: {str(body[key])[:20]!r}"
    return round(khz), None


def phase_field(body: dict[str, Any], key: str) -> tuple[float | None, str | None]:
    """An optional phase angle in degrees from `body[key]`: (degrees or None, rejection reason or None)."""
    if key not in body:
        return None, None
    phase = as_float(body[key])
    if phase is None or not -MAX_PHASE_DEG <= phase <= MAX_PHASE_DEG:
        return None, f"bad {key}: {str(body[key])[:20]!r}"
    return phase, None

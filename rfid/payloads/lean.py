"""A lean path for the common payload: an Impinj array of well-formed tag reads, straight to smoothing input.

`impinj_rows` does what `parse_impinj` followed by `SmoothingEngine.observe` does for such a payload, without
building a TagRead (or keeping a raw sample) per read: one `(reader, antenna, epc, rssi_dbm, t, count)`
row per read, in payload order, where `t` is the reader's time in seconds when the reader clock is used
and it gave one, else the time of receipt. Anything else -- not JSON, an element that is not a tag
read, a field the checked parser would reject -- returns None, and the caller takes the checked path,
which produces the reader events and rejections (with their reasons and samples). The two paths are
compared on generated payloads in tests/rfid/test_lean_payloads.py.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from rfid.payloads.fields import (
    _CANONICAL_EPC_HEX,
    _utc_fast,
    as_float,
    epc_hex_from_base64,
    normalise_epc_hex,
    parse_timestamp,
)

Row = tuple[str | None, int | None, str, float | None, float, int]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_loads = json.loads
_isfinite = math.isfinite
_canonical_epc = _CANONICAL_EPC_HEX.fullmatch


def impinj_rows(payload: bytes, reader: str | None, reader_clock: bool, received_s: float) -> list[Row] | None:
    """Smoothing rows for an Impinj payload made only of valid tag reads, or None (take the checked path)."""
    try:
        document: Any = _loads(payload)
    except (ValueError, RecursionError):
        return None
    elements = document if type(document) is list else [document]
    rows: list[Row] = []
    append = rows.append
    minutes: dict[str, int | None] = {}
    for element in elements:
        if type(element) is not dict or element.get("eventType") != "tagInventory":
            return None  # not an object, a reader event, or no eventType (inferred by the checked path)
        body = element.get("tagInventoryEvent")
        if type(body) is not dict:
            return None
        if reader is None:
            hostname = element.get("hostname")
            reader_id = hostname if isinstance(hostname, str) and hostname else None
        else:
            reader_id = reader
        stamp = element.get("timestamp")
        if stamp is None:
            seen: float | None = None
        else:
            # The common shape by arithmetic on its minute (looked up once per payload), then the checked parse.
            seen = _seconds_fast(stamp, minutes) if type(stamp) is str else None
            if seen is None:
                at = parse_timestamp(stamp)
                if at is None:
                    return None
                seen = at.timestamp()
        if "epcHex" in body:
            epc = body["epcHex"]
            if type(epc) is not str or len(epc) & 1 or not _canonical_epc(epc):
                epc = normalise_epc_hex(epc)
        else:
            epc = epc_hex_from_base64(body.get("epc"))
        if epc is None:
            return None
        if "antennaPort" in body:
            antenna = body["antennaPort"]
            if type(antenna) is not int or not 0 < antenna < 65536:
                return None  # other spellings ("2", 2.0) are left to the checked path
        else:
            antenna = None
        if "peakRssiCdbm" in body:
            centi = body["peakRssiCdbm"]
            kind = type(centi)
            if kind is int and -1_000_000 < centi < 1_000_000:
                rssi: float | None = float(centi) / 100.0
            elif kind is float and _isfinite(centi):
                rssi = centi / 100.0
            else:
                centi = as_float(centi)
                if centi is None:
                    return None
                rssi = centi / 100.0
        else:
            rssi = None
        if "lastSeenTime" in body:
            last = parse_timestamp(body["lastSeenTime"])
            if last is None:
                return None
            seen = last.timestamp()
        append((reader_id, antenna, epc, rssi, seen if reader_clock and seen is not None else received_s, 1))
    return rows


def _seconds_fast(value: str, minutes: dict[str, int | None]) -> float | None:
    """`YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z` as seconds since the epoch, exactly as
    `_utc_fast(value).timestamp()` computes it, or None (the checked path then decides).

    The minute (`YYYY-MM-DDTHH:MM`) is validated and converted once per payload through `_utc_fast` and kept in
    `minutes` (one payload's reads share a minute or two); seconds and the fraction are checked here."""
    n = len(value)
    if (n != 20 and n != 24 and n != 27 and n != 30) or value[-1] != "Z" or value[16] != ":" or (n > 20 and value[19] != "."):
        return None
    key = value[:16]
    if key in minutes:
        base = minutes[key]
    else:
        start = _utc_fast(key + ":00Z")
        base = minutes[key] = None if start is None else (start - _EPOCH) // _MICROSECOND
    second = value[17:19]
    if base is None or not (second.isascii() and second.isdigit()) or second >= "60":
        return None
    if n > 20:
        fraction = value[20:-1]
        if not (fraction.isascii() and fraction.isdigit()):
            return None
        micros = int(fraction[:6].ljust(6, "0"))  # nanoseconds truncated to microseconds, as everywhere
    else:
        micros = 0
    # The same single division datetime.timestamp() makes, so the float is identical.
    return (base + int(second) * 1_000_000 + micros) / 1_000_000

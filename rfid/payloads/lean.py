"""A lean path for the common payloads, Impinj and Zebra arrays of well-formed tag reads, straight to smoothing input.

`impinj_rows` and `zebra_rows` do what `parse_impinj` / `parse_zebra` followed by `SmoothingEngine.observe` do for
such a payload, without building a TagRead (or keeping a raw sample) per read: one `(reader, antenna, epc,
rssi_dbm, t, count)` row per read, in payload order, where `t` is the reader's time in seconds when the reader
clock is used and it gave one, else the time of receipt. Anything else -- not JSON, an element that is not a
tag read, a field the checked parser would reject -- returns None, and the caller takes the checked path,
which produces the reader events and rejections (with their reasons and samples). The two paths are
compared on generated payloads in tests/rfid/test_lean_payloads.py.

Per read, the EPC is a dict lookup once its spelling has been seen (tags are read over and over), and the
timestamp goes to the C parser; its seconds are computed only when the reader's clock is used.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rfid.payloads.fields import (
    MAX_FREQUENCY_KHZ,
    MAX_PHASE_DEG,
    MAX_READ_COUNT,
    MIN_FREQUENCY_KHZ,
    antenna_field,
    as_float,
    as_int,
    epc_hex_from_base64,
    frequency_field,
    normalise_epc_hex,
    parse_timestamp,
    phase_field,
    plausible_rssi,
)
from rfid.payloads.impinj import event_type_of
from rfid.payloads.zebra import READ_TYPES, reporting_host

Row = tuple[str | None, int | None, str, float | None, float, int]
LeanParser = Callable[[bytes, str | None, bool, float], list[Row] | None]

# EPC spellings remembered with their normalised hex (a store's tags many times over); past it, start afresh.
EPC_SPELLINGS_KEPT = 200_000

_loads = json.loads
_fromisoformat = datetime.fromisoformat
_hex_spellings: dict[str, str] = {}  # epcHex / idHex as readers send it -> normalise_epc_hex of it
_base64_spellings: dict[str, str] = {}  # Impinj base64 `epc` -> epc_hex_from_base64 of it


def impinj_rows(payload: bytes, reader: str | None, reader_clock: bool, received_s: float) -> list[Row] | None:
    """Smoothing rows for an Impinj payload made only of valid tag reads, or None (take the checked path)."""
    try:
        document: Any = _loads(payload)
    except (ValueError, RecursionError):
        return None
    elements = document if type(document) is list else [document]
    rows: list[Row] = []
    append = rows.append
    known_hex = _hex_spellings.get
    for element in elements:
        if type(element) is not dict:
            return None
        if element.get("eventType") != "tagInventory" and event_type_of(element) != "tagInventory":
            return None  # a reader event (eventType missing: inferred from the ...Event member, as the checked path does)
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
            at = None
        else:
            at = _timestamp(stamp)
            if at is None:
                return None
        if "epcHex" in body:
            spelling = body["epcHex"]
            epc = known_hex(spelling) if type(spelling) is str else None
            if epc is None:
                epc = _learn(_hex_spellings, normalise_epc_hex, spelling)
        else:
            spelling = body.get("epc")
            epc = _base64_spellings.get(spelling) if type(spelling) is str else None
            if epc is None:
                epc = _learn(_base64_spellings, epc_hex_from_base64, spelling)
        if epc is None:
            return None
        if "antennaPort" in body:
            antenna = body["antennaPort"]
            if type(antenna) is not int or not 0 < antenna < 65536:
                antenna, problem = antenna_field(body, "antennaPort")  # other spellings: "2", 2.0
                if problem is not None:
                    return None
        else:
            antenna = None
        if "peakRssiCdbm" in body:
            centi = body["peakRssiCdbm"]
            number = type(centi)
            if (number is int or number is float) and -20_000 <= centi <= 10_000:  # MIN_RSSI_DBM..MAX_RSSI_DBM in centi-dBm
                rssi: float | None = centi / 100.0  # an int converts to float first, as as_float does; NaN fails the test
            else:
                centi = as_float(centi)
                if centi is None or not plausible_rssi(centi / 100.0):
                    return None
                rssi = centi / 100.0
        else:
            rssi = None
        # Frequency and phase are not smoothing input: only checked, so the lean path rejects what the checked one does.
        if "frequency" in body:
            khz = body["frequency"]
            if (type(khz) is not int or not MIN_FREQUENCY_KHZ <= khz <= MAX_FREQUENCY_KHZ) \
                    and frequency_field(body, "frequency", 1)[1] is not None:
                return None
        if "phaseAngle" in body:
            phase = body["phaseAngle"]
            number = type(phase)
            if not ((number is int or number is float) and -MAX_PHASE_DEG <= phase <= MAX_PHASE_DEG) \
                    and phase_field(body, "phaseAngle")[1] is not None:
                return None
        if "lastSeenTime" in body:
            at = _timestamp(body["lastSeenTime"])
            if at is None:
                return None
        append((reader_id, antenna, epc, rssi, at.timestamp() if reader_clock and at is not None else received_s, 1))
    return rows


def zebra_rows(payload: bytes, reader: str | None, reader_clock: bool, received_s: float) -> list[Row] | None:
    """Smoothing rows for a Zebra IoT Connector payload made only of valid tag-data reports, or None (take the checked path)."""
    try:
        document: Any = _loads(payload)
    except (ValueError, RecursionError):
        return None
    elements = document if type(document) is list else [document]
    rows: list[Row] = []
    append = rows.append
    known_hex = _hex_spellings.get
    for element in elements:
        if type(element) is not dict:
            return None
        data = element.get("data")
        if type(data) is not dict:
            return None  # a management event (heartbeat ...) or a report the checked path rejects
        kind = element.get("type")
        if type(kind) is str:
            if kind not in READ_TYPES and kind and kind.upper() not in READ_TYPES:
                return None  # a heartbeat, GPI or error event (the checked path upper-cases the type: "inventory" is a read)
        elif kind is not None:
            return None  # rejected: the type is not a string
        # No type (or ""): a CUSTOM report if it has idHex, which is required below anyway.
        stamp = element.get("timestamp")
        if stamp is None:
            at = None
        else:
            at = _timestamp(stamp)
            if at is None:
                return None
        reader_id = reader if reader is not None else reporting_host(element, data)
        id_format = data.get("format", "epc")
        if id_format != "epc" and (type(id_format) is not str or id_format.lower() != "epc"):
            return None
        spelling = data.get("idHex")
        epc = known_hex(spelling) if type(spelling) is str else None
        if epc is None:
            epc = _learn(_hex_spellings, normalise_epc_hex, spelling)
            if epc is None:
                return None
        if "antenna" in data:
            antenna = data["antenna"]
            if type(antenna) is not int or not 0 < antenna < 65536:
                antenna, problem = antenna_field(data, "antenna")
                if problem is not None:
                    return None
        else:
            antenna = None
        if "peakRssi" in data:
            rssi = data["peakRssi"]
            number = type(rssi)
            if (number is int or number is float) and -200 <= rssi <= 100:  # MIN_RSSI_DBM..MAX_RSSI_DBM; NaN fails the test
                rssi = float(rssi)
            else:
                rssi = as_float(rssi)
                if rssi is None or not plausible_rssi(rssi):
                    return None
        else:
            rssi = None
        if "reads" in data:
            count = data["reads"]
            if type(count) is not int or not 0 < count <= MAX_READ_COUNT:
                count = as_int(count)
                if count is None or not 0 < count <= MAX_READ_COUNT:
                    return None
        else:
            count = 1
        if "channel" in data:  # MHz; validated only, like the phase: smoothing has no use for them
            channel = data["channel"]
            number = type(channel)
            if not ((number is float or number is int) and MIN_FREQUENCY_KHZ <= channel * 1000 <= MAX_FREQUENCY_KHZ) \
                    and frequency_field(data, "channel", 1000)[1] is not None:
                return None
        if "phase" in data:
            phase = data["phase"]
            number = type(phase)
            if not ((number is float or number is int) and -MAX_PHASE_DEG <= phase <= MAX_PHASE_DEG) \
                    and phase_field(data, "phase")[1] is not None:
                return None
        if "eventNum" in data:  # validated only: smoothing has no use for the sequence number
            seq = data["eventNum"]
            if type(seq) is not int or seq < 0:
                seq = as_int(seq)
                if seq is None or seq < 0:
                    return None
        append((reader_id, antenna, epc, rssi, at.timestamp() if reader_clock and at is not None else received_s, count))
    return rows


LEAN_PARSERS: dict[str, LeanParser] = {"impinj": impinj_rows, "zebra": zebra_rows}


def _learn(spellings: dict[str, str], normalise: Callable[[object], str | None], spelling: object) -> str | None:
    """`normalise(spelling)`, remembered in `spellings` when it is a valid EPC, so the next read of the tag is a lookup."""
    epc = normalise(spelling)
    if epc is not None and type(spelling) is str:
        if len(spellings) >= EPC_SPELLINGS_KEPT:
            spellings.clear()
        spellings[spelling] = epc
    return epc


def _timestamp(value: object) -> datetime | None:
    """`parse_timestamp(value)`, or a datetime of the same instant sooner for the shapes readers send most:
    `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z` (Impinj) and `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff]` with a
    `+HHMM` or `+HH:MM` offset (Zebra).

    Those go straight to the C parser once their separators (one slice) and digits are seen to be in place;
    fromisoformat checks the date. What it accepts beyond the checked parser is ruled out here: anything after
    the sixth fractional digit (it skips it, digits or not), offsets past 23:59, and years 1 and 9999, where an
    offset can take the time out of datetime's range."""
    if type(value) is str and value.isascii():  # (a flag on the string, not a scan) so isdigit() means 0-9
        n = len(value)
        if n >= 20:
            if value[-1] == "Z":  # the shapes _utc_fast takes, no more
                if n == 27 or n == 30 or n == 24:
                    fast = value[4:20:3] == "--T::." and value[20:-1].isdigit()
                else:
                    fast = n == 20 and value[4:17:3] == "--T::"
            elif n == 28 and value[23:] == "+0000":  # Zebra on UTC, the common case of the general shape below
                fast = value[4:20:3] == "--T::." and value[20:23].isdigit()
            else:
                colon = value[-3] == ":"
                end = n - 6 if colon else n - 5  # where the offset starts
                zone = value[-5:-3] + value[-2:] if colon else value[-4:]
                fast = (
                    (end == 23 or end == 19 or end == 26)
                    and value[end] in "+-"
                    and zone.isdigit() and zone[:2] <= "23" and zone[2:] <= "59"
                    and (value[4:20:3] == "--T::." and value[20:end].isdigit() if end > 19 else value[4:17:3] == "--T::")
                    and "0001" < value[:4] < "9999"
                )
            if fast:
                try:
                    return _fromisoformat(value)
                except ValueError:
                    pass  # 31 February, hour 24 ...: the checked parser says so
    return parse_timestamp(value)

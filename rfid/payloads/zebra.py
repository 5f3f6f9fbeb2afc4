"""Zebra IoT Connector (FX9600, FX7500, ATR7000, FXR90): tag-data reports, one object or an array."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rfid.payloads.fields import (
    MAX_READ_COUNT,
    antenna_field,
    as_float,
    as_int,
    frequency_field,
    normalise_epc_hex,
    parse_json_elements,
    parse_timestamp,
    phase_field,
    plausible_rssi,
)
from rfid.reads import ParseResult, ReaderEvent, ReaderEventKind, TagRead

SOURCE = "zebra"

# Report types that carry a tag; a CUSTOM report may hold nothing but eventNum, format and idHex.
READ_TYPES = frozenset({"INVENTORY", "SIMPLE", "PORTAL", "CONVEYOR", "CUSTOM"})


def parse_zebra(payload: bytes, *, reader: str | None = None, received_at: datetime | None = None) -> ParseResult:
    """Reads, reader events and rejections from one Zebra IoT Connector payload; `reader` overrides hostName."""
    return parse_json_elements(payload, SOURCE, _parse_element, reader, received_at)


def _parse_element(element: object, raw: bytes, reader: str | None, received: datetime) -> TagRead | ReaderEvent | str:
    """One report object -> a read, a reader event, or the reason it was rejected."""
    if not isinstance(element, dict):
        return "report is not a JSON object"
    data = element.get("data")
    kind = element.get("type")
    if kind is not None and not isinstance(kind, str):
        return "type is not a string"
    report_type = kind.upper() if kind else ("CUSTOM" if isinstance(data, dict) and "idHex" in data else None)
    if report_type is None:
        return "no type and no data.idHex"
    stamp = element.get("timestamp")
    at = parse_timestamp(stamp)
    if stamp is not None and at is None:
        return f"bad timestamp: {str(stamp)[:40]!r}"
    reader_id = reader if reader is not None else reporting_host(element, data)
    if report_type not in READ_TYPES:
        # Heartbeats, GPI and error events from the management-events topic: well-formed, not reads.
        return ReaderEvent(ReaderEventKind.OTHER, reader_id, at, received, None, report_type, SOURCE, raw)
    if not isinstance(data, dict):
        return f"{report_type} report without a data object"
    return _tag_read(data, raw, reader_id, at, received)


def reporting_host(element: dict[str, Any], data: object) -> str | None:
    """The reader name some configurations add to the report (hostName / MAC), if any."""
    for holder in (data, element):
        if isinstance(holder, dict):
            for key in ("hostName", "hostname", "MAC"):
                value = holder.get(key)
                if isinstance(value, str) and value:
                    return value
    return None


def _tag_read(data: dict[str, Any], raw: bytes, reader: str | None, at: datetime | None, received: datetime) -> TagRead | str:
    """A report's data object -> a read, or the reason it was rejected."""
    id_format = data.get("format", "epc")
    if not isinstance(id_format, str) or id_format.lower() != "epc":
        return f"idHex format {str(id_format)[:20]!r} is not an EPC"
    epc = normalise_epc_hex(data.get("idHex"))
    if epc is None:
        return "missing or invalid idHex"
    antenna, problem = antenna_field(data, "antenna")
    if problem is not None:
        return problem
    rssi = None
    if "peakRssi" in data:
        rssi = as_float(data["peakRssi"])
        if rssi is None or not plausible_rssi(rssi):
            return f"bad peakRssi: {str(data['peakRssi'])[:20]!r}"
    count = 1
    if "reads" in data:
        reads = as_int(data["reads"])
        if reads is None or not 1 <= reads <= MAX_READ_COUNT:
            return f"bad reads count: {str(data['reads'])[:20]!r}"
        count = reads
    seq = None
    if "eventNum" in data:
        seq = as_int(data["eventNum"])
        if seq is None or seq < 0:
            return f"bad eventNum: {str(data['eventNum'])[:20]!r}"
    frequency, problem = frequency_field(data, "channel", 1000)  # MHz
    if problem is not None:
        return problem
    phase, problem = phase_field(data, "phase")
    if problem is not None:
        return problem
    return TagRead(epc, reader, antenna, rssi, at, received, count, seq, SOURCE, raw, frequency, phase)

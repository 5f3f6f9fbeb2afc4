"""Impinj IoT device interface (R700 ...): one JSON event object, or an array of them, per payload."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rfid.payloads.fields import (
    antenna_field,
    as_float,
    as_int,
    epc_hex_from_base64,
    frequency_field,
    normalise_epc_hex,
    parse_json_elements,
    parse_timestamp,
    phase_field,
    plausible_rssi,
)
from rfid.reads import ParseResult, ReaderEvent, ReaderEventKind, TagRead

SOURCE = "impinj"

_EVENT_KINDS = {
    "antennaConnected": ReaderEventKind.ANTENNA_CONNECTED,
    "antennaDisconnected": ReaderEventKind.ANTENNA_DISCONNECTED,
    "inventoryStatus": ReaderEventKind.INVENTORY_STATUS,
    "overflow": ReaderEventKind.OVERFLOW,
}


def parse_impinj(payload: bytes, *, reader: str | None = None, received_at: datetime | None = None) -> ParseResult:
    """Reads, reader events and rejections from one Impinj payload; `reader` overrides the hostname."""
    return parse_json_elements(payload, SOURCE, _parse_element, reader, received_at)


def event_type_of(element: dict[str, Any]) -> str | None:
    """The event type of an Impinj event, inferred from its `...Event` member when `eventType` is absent."""
    declared = element.get("eventType")
    if isinstance(declared, str) and declared:
        return declared
    # The protected-mode sample carries no eventType, only the tagInventoryEvent member.
    for key, value in element.items():
        if isinstance(key, str) and key.endswith("Event") and len(key) > 5 and isinstance(value, dict):
            return key[:-5]
    return None


def _parse_element(element: object, raw: bytes, reader: str | None, received: datetime) -> TagRead | ReaderEvent | str:
    """One event object -> a read, a reader event, or the reason it was rejected."""
    if not isinstance(element, dict):
        return "event is not a JSON object"
    event_type = event_type_of(element)
    if event_type is None:
        return "no eventType and no ...Event member"
    hostname = element.get("hostname")
    reader_id = reader if reader is not None else (hostname if isinstance(hostname, str) and hostname else None)
    stamp = element.get("timestamp")
    at = parse_timestamp(stamp)
    if stamp is not None and at is None:
        return f"bad timestamp: {str(stamp)[:40]!r}"
    body = element.get(event_type + "Event")
    if body is None:
        body = {}
    if not isinstance(body, dict):
        return f"{event_type}Event is not an object"
    if event_type == "tagInventory":
        return _tag_read(body, raw, reader_id, at, received)
    antenna = as_int(body.get("antennaPort"))
    kind = _EVENT_KINDS.get(event_type, ReaderEventKind.OTHER)
    if kind in (ReaderEventKind.ANTENNA_CONNECTED, ReaderEventKind.ANTENNA_DISCONNECTED) and antenna is None:
        return f"{event_type} without a valid antennaPort"
    detail: str | None = event_type if kind is ReaderEventKind.OTHER else None
    if kind is ReaderEventKind.INVENTORY_STATUS:
        status = body.get("inventoryStatus", body.get("status"))
        detail = status if isinstance(status, str) else None
    elif kind is ReaderEventKind.OVERFLOW:
        dropped = as_int(body.get("count", body.get("droppedEvents")))
        detail = str(dropped) if dropped is not None else None
    return ReaderEvent(kind, reader_id, at, received, antenna, detail, SOURCE, raw)


def _tag_read(body: dict[str, Any], raw: bytes, reader: str | None, at: datetime | None, received: datetime) -> TagRead | str:
    """A tagInventoryEvent member -> a read, or the reason it was rejected."""
    epc = normalise_epc_hex(body.get("epcHex")) if "epcHex" in body else epc_hex_from_base64(body.get("epc"))
    if epc is None:
        return "tagInventoryEvent without a valid epcHex or base64 epc"
    antenna, problem = antenna_field(body, "antennaPort")
    if problem is not None:
        return problem
    rssi = None
    if "peakRssiCdbm" in body:
        centi = as_float(body["peakRssiCdbm"])
        if centi is None or not plausible_rssi(centi / 100.0):
            return f"bad peakRssiCdbm: {str(body['peakRssiCdbm'])[:20]!r}"
        rssi = centi / 100.0  # centi-dBm: -2650 is -26.5 dBm
    frequency, problem = frequency_field(body, "frequency", 1)  # kHz
    if problem is not None:
        return problem
    phase, problem = phase_field(body, "phaseAngle")
    if problem is not None:
        return problem
    seen_at = at
    if "lastSeenTime" in body:
        seen_at = parse_timestamp(body["lastSeenTime"])
        if seen_at is None:
            return f"bad lastSeenTime: {str(body['lastSeenTime'])[:40]!r}"
    return TagRead(epc, reader, antenna, rssi, seen_at, received, 1, None, SOURCE, raw, frequency, phase)

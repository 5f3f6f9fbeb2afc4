"""EPCIS 2.0 JSON-LD export: ObjectEvent, AggregationEvent and the EPCISDocument around them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from rfid.epc import Epc, decode_epc

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
SCHEMA_VERSION = "2.0"
ACTIONS = ("ADD", "OBSERVE", "DELETE")

# CBV 2.0 business steps and dispositions; JSON-LD writes them as bare names (the @context maps them).
BIZ_STEPS = frozenset(
    "accepting arriving assembling collecting commissioning consigning creating_class_instance cycle_counting "
    "decommissioning departing destroying disassembling dispensing encoding entering_exiting holding inspecting "
    "installing killing loading other packing picking receiving removing repackaging repairing replacing reserving "
    "retail_selling sampling sensor_reporting shipping staging_outbound stock_taking stocking storing transporting "
    "unloading unpacking void_shipping".split()
)
DISPOSITIONS = frozenset(
    "active available completeness_verified completeness_inferred conformant container_closed container_open damaged "
    "destroyed dispensed disposed encoded expired in_progress in_transit inactive mismatch_instance mismatch_class "
    "mismatch_quantity needs_replacement non_conformant non_sellable_other partially_dispensed recalled reserved "
    "retail_sold returned sellable_accessible sellable_not_accessible stolen unavailable unknown".split()
)
_URN_PREFIX = {"bizStep": "urn:epcglobal:cbv:bizstep:", "disposition": "urn:epcglobal:cbv:disp:"}

# Event ids are UUIDv5 of the event's canonical JSON in this namespace (see docs/epc.md).
EVENT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://fulfil.example/epcis/event-id/v1")

Vocabulary = Literal["short", "urn"]


class EpcisError(ValueError):
    """An event that EPCIS 2.0 would not accept, with the reason."""


def sgln_uri(company_prefix: str, location_reference: str, extension: str = "0") -> str:
    """The SGLN pure identity URI of a GS1 location (prefix + location reference = 12 digits)."""
    digits = company_prefix + location_reference
    if not (digits.isascii() and digits.isdigit()):
        raise EpcisError("SGLN company prefix and location reference must be decimal digits")
    if len(digits) != 12 or not 6 <= len(company_prefix) <= 12:
        raise EpcisError("SGLN company prefix (6-12 digits) and location reference must have 12 digits together")
    if not extension:
        raise EpcisError("SGLN extension must not be empty (use 0 for none)")
    return f"urn:epc:id:sgln:{company_prefix}.{location_reference}.{extension}"


def _epc_uri(value: str | Epc) -> str:
    """A pure identity URI from an `Epc`, EPC hex or a pure identity URI; non-GS1 values are refused."""
    if isinstance(value, str) and value.startswith("urn:epc:id:"):
        return value
    epc = value if isinstance(value, Epc) else decode_epc(value)
    if epc.pure_uri is None:
        raise EpcisError(f"{epc.hex or value!r} is not a GS1 EPC ({epc.error or 'unknown scheme'}); EPCIS lists pure identity URIs")
    return epc.pure_uri


def _time(moment: datetime, what: str) -> tuple[str, str]:
    """(ISO 8601 time with milliseconds and offset, the offset as ±hh:mm)."""
    offset = moment.utcoffset()
    if offset is None:
        raise EpcisError(f"{what} needs a timezone (EPCIS times carry their offset)")
    minutes = int(offset / timedelta(minutes=1))
    sign = "-" if minutes < 0 else "+"
    return moment.isoformat(timespec="milliseconds"), f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _vocabulary(field: str, value: str, known: frozenset[str], vocabulary: Vocabulary) -> str:
    if ":" in value:  # a full URI (CBV URN, web vocabulary or a private extension) passes as given
        return value
    if value not in known:
        raise EpcisError(f"{value!r} is not a CBV 2.0 {field}; pass a full URI for a private one")
    return _URN_PREFIX[field] + value if vocabulary == "urn" else value


def event_id(event: dict[str, Any]) -> str:
    """The deterministic id of an event: UUIDv5 over its canonical JSON (sorted keys and EPC lists, no eventID)."""
    content = {k: sorted(v) if k in ("epcList", "childEPCs") else v for k, v in event.items() if k != "eventID"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"urn:uuid:{uuid.uuid5(EVENT_ID_NAMESPACE, canonical)}"


def _event(
    event_type: str,
    event_time: datetime,
    action: str,
    biz_step: str,
    disposition: str | None,
    read_point: str | None,
    biz_location: str | None,
    vocabulary: Vocabulary,
) -> dict[str, Any]:
    if action not in ACTIONS:
        raise EpcisError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
    when, offset = _time(event_time, "eventTime")
    event: dict[str, Any] = {"type": event_type, "eventTime": when, "eventTimeZoneOffset": offset, "action": action}
    event["bizStep"] = _vocabulary("bizStep", biz_step, BIZ_STEPS, vocabulary)
    if disposition is not None:
        event["disposition"] = _vocabulary("disposition", disposition, DISPOSITIONS, vocabulary)
    if read_point is not None:
        event["readPoint"] = {"id": read_point}
    if biz_location is not None:
        event["bizLocation"] = {"id": biz_location}
    return event


def object_event(
    epcs: Iterable[str | Epc],
    *,
    event_time: datetime,
    action: str,
    biz_step: str,
    disposition: str | None = None,
    read_point: str | None = None,
    biz_location: str | None = None,
    vocabulary: Vocabulary = "short",
) -> dict[str, Any]:
    """An ObjectEvent (receiving, picking, shipping, retail_selling …) about some EPCs, with its eventID."""
    epc_list = [_epc_uri(e) for e in epcs]
    if not epc_list:
        raise EpcisError("an ObjectEvent needs at least one EPC")
    event = _event("ObjectEvent", event_time, action, biz_step, disposition, read_point, biz_location, vocabulary)
    event["epcList"] = epc_list
    event["eventID"] = event_id(event)
    return event


def aggregation_event(
    parent: str | Epc,
    children: Iterable[str | Epc],
    *,
    event_time: datetime,
    action: str = "ADD",
    biz_step: str = "packing",
    disposition: str | None = "in_progress",
    read_point: str | None = None,
    biz_location: str | None = None,
    vocabulary: Vocabulary = "short",
) -> dict[str, Any]:
    """An AggregationEvent: children packed into (ADD), seen in (OBSERVE) or taken out of (DELETE) a parent such as a parcel's SSCC."""
    child_list = [_epc_uri(c) for c in children]
    if not child_list and action != "DELETE":  # DELETE without children means "all of them"
        raise EpcisError(f"an AggregationEvent with action {action} needs child EPCs")
    event = _event("AggregationEvent", event_time, action, biz_step, disposition, read_point, biz_location, vocabulary)
    event["parentID"] = _epc_uri(parent)
    event["childEPCs"] = child_list
    event["eventID"] = event_id(event)
    return event


def epcis_document(events: Sequence[dict[str, Any]], *, creation_date: datetime) -> dict[str, Any]:
    """The EPCISDocument (JSON-LD, EPCIS 2.0) holding `events` in order."""
    created, _ = _time(creation_date, "creationDate")
    return {
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": created,
        "epcisBody": {"eventList": list(events)},
    }

"""EPCIS 2.0 export, checked against the structure of GS1's EPCIS 2.0 JSON-LD examples."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from rfid.epc import decode_epc, encode_sgtin96
from rfid.epcis import (
    EPCIS_CONTEXT,
    EpcisError,
    aggregation_event,
    epcis_document,
    event_id,
    object_event,
    sgln_uri,
)

SGTIN = "3074257BF7194E4000001A85"
SGTIN_URI = "urn:epc:id:sgtin:0614141.812345.6789"
SSCC = "3174257BF4499602D2000000"
SSCC_URI = "urn:epc:id:sscc:0614141.1234567890"
STORE = sgln_uri("0614141", "07346", "0")
DOCK = sgln_uri("0614141", "07346", "1234")
CET = timezone(timedelta(hours=2))
WHEN = datetime(2024, 6, 1, 10, 15, 30, 123456, tzinfo=CET)

# What GS1's EPCIS 2.0 JSON-LD examples (and the JSON schema) require of each part.
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
OFFSET = re.compile(r"^[+-]\d\d:\d\d$")
EPC_URI = re.compile(r"^urn:epc:id:(sgtin|sscc|sgln|grai|giai):[\w.%'()*+,\-:;=!]+$")
EVENT_ID = re.compile(r"^(urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|ni:///sha-256;[0-9a-f]{64}\?ver=CBV2\.0)$")
COMMON = {"type": str, "eventTime": str, "eventTimeZoneOffset": str, "action": str, "bizStep": str, "eventID": str}
REQUIRED = {
    "ObjectEvent": {**COMMON, "epcList": list},
    "AggregationEvent": {**COMMON, "parentID": str, "childEPCs": list},
}
OPTIONAL = {"disposition": str, "readPoint": dict, "bizLocation": dict}


def check_event(event: dict[str, Any]) -> None:
    required = REQUIRED[event["type"]]
    for key, kind in required.items():
        assert isinstance(event.get(key), kind), key
    for key in event:
        assert key in required or key in OPTIONAL, f"unexpected key {key}"
        if key in OPTIONAL:
            assert isinstance(event[key], OPTIONAL[key]), key
    assert TIME.match(event["eventTime"]) and OFFSET.match(event["eventTimeZoneOffset"])
    assert event["eventTime"].endswith(event["eventTimeZoneOffset"]) or event["eventTime"].endswith("Z")
    assert event["action"] in ("ADD", "OBSERVE", "DELETE")
    assert EVENT_ID.match(event["eventID"])
    for place in ("readPoint", "bizLocation"):
        if place in event:
            assert set(event[place]) == {"id"} and event[place]["id"].startswith(("urn:", "http"))
    for epc in event.get("epcList", []) + event.get("childEPCs", []) + [event.get("parentID", SSCC_URI)]:
        assert EPC_URI.match(epc), epc


def check_document(document: dict[str, Any]) -> None:
    context = document["@context"]
    assert EPCIS_CONTEXT in (context if isinstance(context, list) else [context])
    assert document["type"] == "EPCISDocument" and document["schemaVersion"] == "2.0"
    assert TIME.match(document["creationDate"])
    assert set(document) == {"@context", "type", "schemaVersion", "creationDate", "epcisBody"}
    assert set(document["epcisBody"]) == {"eventList"}
    for event in document["epcisBody"]["eventList"]:
        check_event(event)
    json.loads(json.dumps(document))  # plain JSON all the way down


def test_ship_from_store_story_document() -> None:
    items = [SGTIN, encode_sgtin96("80614141123458", 6790, 7)]
    events = [
        object_event(items, event_time=WHEN, action="ADD", biz_step="receiving", disposition="sellable_accessible", read_point=DOCK, biz_location=STORE),
        object_event(items, event_time=WHEN, action="OBSERVE", biz_step="picking", disposition="in_progress", read_point=DOCK, biz_location=STORE),
        aggregation_event(SSCC, items, event_time=WHEN, read_point=DOCK, biz_location=STORE),
        object_event([SSCC], event_time=WHEN, action="OBSERVE", biz_step="shipping", disposition="in_transit", read_point=DOCK),
        object_event([decode_epc(SGTIN)], event_time=WHEN, action="DELETE", biz_step="retail_selling", disposition="retail_sold", biz_location=STORE),
    ]
    document = epcis_document(events, creation_date=datetime(2024, 6, 1, 9, 0, tzinfo=UTC))
    check_document(document)
    assert document["epcisBody"]["eventList"][2] == {
        "type": "AggregationEvent",
        "eventTime": "2024-06-01T10:15:30.123+02:00",
        "eventTimeZoneOffset": "+02:00",
        "action": "ADD",
        "bizStep": "packing",
        "disposition": "in_progress",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
        "bizLocation": {"id": "urn:epc:id:sgln:0614141.07346.0"},
        "parentID": SSCC_URI,
        "childEPCs": [SGTIN_URI, "urn:epc:id:sgtin:0614141.812345.6790"],
        "eventID": events[2]["eventID"],
    }
    assert document["creationDate"] == "2024-06-01T09:00:00.000+00:00"


def test_event_ids_are_deterministic_and_content_sensitive() -> None:
    first = object_event([SGTIN, SSCC], event_time=WHEN, action="OBSERVE", biz_step="shipping")
    again = object_event([SSCC, SGTIN], event_time=WHEN, action="OBSERVE", biz_step="shipping")
    later = object_event([SGTIN, SSCC], event_time=WHEN + timedelta(milliseconds=1), action="OBSERVE", biz_step="shipping")
    assert first["eventID"] == again["eventID"] != later["eventID"]
    assert event_id(first) == first["eventID"]
    assert first["eventID"] != object_event([SGTIN, SSCC], event_time=WHEN, action="OBSERVE", biz_step="receiving")["eventID"]


def test_urn_vocabulary_and_private_uris() -> None:
    event = object_event([SGTIN], event_time=WHEN, action="OBSERVE", biz_step="retail_selling", disposition="retail_sold", vocabulary="urn")
    assert (event["bizStep"], event["disposition"]) == ("urn:epcglobal:cbv:bizstep:retail_selling", "urn:epcglobal:cbv:disp:retail_sold")
    custom = object_event([SGTIN], event_time=WHEN, action="OBSERVE", biz_step="https://fulfil.example/bizstep/verifying", read_point="urn:fulfil:store:12:zone:packing")
    check_event(custom)
    assert custom["readPoint"] == {"id": "urn:fulfil:store:12:zone:packing"}


def test_utc_times_carry_a_zero_offset() -> None:
    event = object_event([SGTIN], event_time=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), action="OBSERVE", biz_step="stocking")
    assert (event["eventTime"], event["eventTimeZoneOffset"]) == ("2024-01-02T03:04:05.000+00:00", "+00:00")
    west = object_event([SGTIN], event_time=datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-3, minutes=-30))), action="OBSERVE", biz_step="stocking")
    assert west["eventTimeZoneOffset"] == "-03:30"


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda: object_event([SGTIN], event_time=datetime(2024, 1, 1), action="ADD", biz_step="receiving"), "timezone"),
        (lambda: object_event([SGTIN], event_time=WHEN, action="MOVE", biz_step="receiving"), "action"),
        (lambda: object_event([SGTIN], event_time=WHEN, action="ADD", biz_step="teleporting"), "CBV 2.0 bizStep"),
        (lambda: object_event([SGTIN], event_time=WHEN, action="ADD", biz_step="receiving", disposition="lost"), "CBV 2.0 disposition"),
        (lambda: object_event([], event_time=WHEN, action="ADD", biz_step="receiving"), "at least one EPC"),
        (lambda: object_event(["E2801190A5021F80055817CA"], event_time=WHEN, action="ADD", biz_step="receiving"), "not a GS1 EPC"),
        (lambda: aggregation_event(SSCC, [], event_time=WHEN), "needs child EPCs"),
        (lambda: sgln_uri("0614141", "0734", "0"), "12 digits"),
        (lambda: sgln_uri("06141a1", "07346", "0"), "decimal digits"),
    ],
)
def test_invalid_events_are_refused_with_a_reason(build: Any, reason: str) -> None:
    with pytest.raises(EpcisError, match=reason):
        build()


def test_unpacking_everything_needs_no_children() -> None:
    event = aggregation_event(SSCC, [], event_time=WHEN, action="DELETE", biz_step="unpacking", disposition=None)
    check_event(event)
    assert event["childEPCs"] == [] and "disposition" not in event

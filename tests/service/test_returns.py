"""Returns in any store (or by post to a warehouse): stock lands where the items are, resellable units are sellable
at once (store-to-web), damaged ones quarantined; each return and each tag counts once, never more than was
delivered; the refund due is stated; the order shows what came back."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.app import create_app
from fulfil.config import Settings
from fulfil.models import DomainEvent, LocationKind
from tests.delivery import Delivered, deliver
from tests.service.test_live_stream import read_events

URL = "/api/v1/returns"


@pytest.fixture()
def world(session: Session, make_location: Callable[..., Any], make_product: Callable[..., Any], auth: Callable[..., dict[str, str]]) -> dict[str, Any]:
    """A store that shipped an order home (2 shirts at 19.90, 1 jacket at 89.00), another store the customer walks
    into, and a warehouse that takes posted returns."""
    shipper = make_location(kind=LocationKind.STORE, lat=48.86, lon=2.35).id
    walk_in = make_location(kind=LocationKind.STORE, lat=45.76, lon=4.83).id
    dc = make_location(kind=LocationKind.WAREHOUSE, lat=47.0, lon=3.0, capacity_per_day=None).id
    shirt, jacket, other = make_product().gtin, make_product().gtin, make_product().gtin
    order = deliver(session, shipper, [(shirt, 2, "19.90"), (jacket, 1, "89.00")])
    return {"shipper": shipper, "walk_in": walk_in, "dc": dc, "shirt": shirt, "jacket": jacket, "other_gtin": other, "order": order,
            "picker": auth("picker", walk_in)}


def level(client: TestClient, ops: dict[str, str], loc: str, gtin: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/stock/{loc}/{gtin}", headers=ops)
    return response.json() if response.status_code == 200 else {"on_hand": 0, "available": 0, "quarantined": 0, "reserved": 0}


def body(order: Delivered, location: str, items: list[dict[str, Any]], external_id: str = "RET-1", **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "location_id": location, "order_id": order.order_id, "items": items, **extra}


def test_a_return_at_another_store_is_sellable_there_at_once(client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session) -> None:
    order, walk_in, shirt, jacket = world["order"], world["walk_in"], world["shirt"], world["jacket"]
    shipper_before = level(client, ops, world["shipper"], shirt)
    answer = client.post(URL, headers=world["picker"], json=body(order, walk_in, [
        {"epc": order.epcs[shirt][0].lower(), "grade": "resellable", "reason": "too_small"},
        {"gtin": jacket, "qty": 1, "grade": "damaged", "reason": "damaged_in_transit"},
    ]))
    assert answer.status_code == 201, answer.text
    got = answer.json()
    assert (got["order_id"], got["order_external_id"], got["location_id"]) == (order.order_id, order.external_id, walk_in)
    assert (got["currency"], got["refund_due"], got["refund_note"]) == ("EUR", "108.90", None)
    assert [(ln["line_no"], ln["gtin"], ln["epc"], ln["qty"], ln["grade"], ln["unit_price"]) for ln in got["lines"]] == [
        (1, shirt, order.epcs[shirt][0], 1, "resellable", "19.90"), (2, jacket, None, 1, "damaged", "89.00"),
    ]
    # Store-to-web: the walk-in store can sell the shirt now (routing promises `available`); the jacket is not sellable.
    assert (level(client, ops, walk_in, shirt)["on_hand"], level(client, ops, walk_in, shirt)["available"]) == (1, 1)
    assert (level(client, ops, walk_in, jacket)["available"], level(client, ops, walk_in, jacket)["quarantined"]) == (0, 1)
    assert level(client, ops, world["shipper"], shirt) == shipper_before  # stock lands where the item is, not where it left
    tag = client.get(f"/api/v1/tags/{order.epcs[shirt][0]}", headers=ops).json()
    assert (tag["state"], tag["location_id"], tag["shipment_id"], tag["zone"]) == ("in_stock", walk_in, None, None)
    events = client.get(f"/api/v1/stock/events?order_id={order.order_id}&location_id={walk_in}", headers=ops).json()
    assert [(e["kind"], e["gtin"], e["on_hand_delta"], e["quarantine_delta"], e["epc"]) for e in events] == [
        ("return", shirt, 1, 0, order.epcs[shirt][0]), ("return", jacket, 0, 1, None),
    ]
    lines = client.get(f"/api/v1/orders/{order.order_id}", headers=ops).json()["lines"]
    assert [(ln["gtin"], ln["qty"], ln["returned_qty"], ln["cancelled_qty"], ln["unit_price"]) for ln in lines] == [
        (shirt, 2, 1, 0, "19.90"), (jacket, 1, 1, 0, "89.00"),
    ]
    journal = session.scalars(select(DomainEvent).where(DomainEvent.kind == "return.received", DomainEvent.order_id == order.order_id)).all()
    assert sorted((e.location_id or "") for e in journal) == ["", walk_in]
    assert journal[0].data["refund_due"] == "108.90" and journal[0].data["currency"] == "EUR" and len(journal[0].data["items"]) == 2


def test_a_posted_return_lands_at_the_warehouse(client: TestClient, ops: dict[str, str], world: dict[str, Any]) -> None:
    order, dc, shirt = world["order"], world["dc"], world["shirt"]
    answer = client.post(URL, headers=ops, json=body(order, dc, [{"gtin": shirt, "qty": 2, "grade": "resellable", "reason": "changed_mind"}]))
    assert answer.status_code == 201, answer.text
    assert answer.json()["refund_due"] == "39.80"
    assert level(client, ops, dc, shirt)["available"] == 2
    # A picker may take returns at its own store only.
    refused = client.post(URL, headers=world["picker"], json=body(order, dc, [{"gtin": shirt, "grade": "resellable", "reason": "other"}], "RET-2"))
    assert refused.status_code == 403, refused.text


def test_a_retry_counts_once_and_a_reused_id_is_a_conflict(client: TestClient, ops: dict[str, str], world: dict[str, Any],
                                                          auth: Callable[..., dict[str, str]], make_location: Callable[..., Any]) -> None:
    order, walk_in, shirt = world["order"], world["walk_in"], world["shirt"]
    sent = body(order, walk_in, [{"epc": order.epcs[shirt][1], "grade": "resellable", "reason": "too_large"}])
    first = client.post(URL, headers=world["picker"], json=sent)
    assert first.status_code == 201, first.text
    events = client.get(f"/api/v1/stock/events?location_id={walk_in}", headers=ops).json()
    again = client.post(URL, headers=world["picker"], json=sent)
    assert (again.status_code, again.json()) == (200, first.json())
    assert client.get(f"/api/v1/stock/events?location_id={walk_in}", headers=ops).json() == events
    other = client.post(URL, headers=world["picker"], json={**sent, "items": [{"gtin": world["jacket"], "grade": "resellable", "reason": "other"}]})
    assert (other.status_code, other.json()["error"]["code"]) == (409, "idempotency_conflict")
    assert other.json()["error"]["details"]["return_id"] == first.json()["id"]
    # Another store's picker reusing the id learns nothing of the first return.
    elsewhere = make_location().id
    stranger = client.post(URL, headers=auth("picker", elsewhere), json={**sent, "location_id": elsewhere})
    assert (stranger.status_code, stranger.json()["error"]["details"]) == (409, {"external_id": "RET-1"})


def test_the_same_tag_counts_once(client: TestClient, ops: dict[str, str], world: dict[str, Any]) -> None:
    order, walk_in, shirt = world["order"], world["walk_in"], world["shirt"]
    epc = order.epcs[shirt][0]
    twice = client.post(URL, headers=ops, json=body(order, walk_in, [{"epc": epc, "grade": "resellable", "reason": "too_small"}] * 2))
    assert twice.status_code == 201, twice.text
    assert [ln["qty"] for ln in twice.json()["lines"]] == [1]
    again = client.post(URL, headers=ops, json=body(order, walk_in, [{"epc": epc, "grade": "resellable", "reason": "too_small"}], "RET-2"))
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_returned"), again.text
    assert epc in again.json()["error"]["message"]
    contradiction = client.post(URL, headers=ops, json=body(order, walk_in, [
        {"epc": order.epcs[shirt][1], "grade": "resellable", "reason": "too_small"}, {"epc": order.epcs[shirt][1], "grade": "damaged", "reason": "too_small"},
    ], "RET-3"))
    assert contradiction.status_code == 422, contradiction.text
    assert contradiction.json()["error"]["details"][0]["field"] == "body.items.1"
    assert level(client, ops, walk_in, shirt)["on_hand"] == 1


def test_no_more_than_was_delivered_comes_back(client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session) -> None:
    order, walk_in, shirt, jacket = world["order"], world["walk_in"], world["shirt"], world["jacket"]
    too_many = client.post(URL, headers=ops, json=body(order, walk_in, [
        {"gtin": jacket, "grade": "resellable", "reason": "other"},  # fine on its own: all or nothing
        {"gtin": shirt, "qty": 2, "grade": "resellable", "reason": "other"}, {"epc": order.epcs[shirt][0], "grade": "damaged", "reason": "other"},
    ]))
    assert too_many.status_code == 409, too_many.text
    error = too_many.json()["error"]
    assert error["code"] == "over_return"
    assert error["details"]["refused"] == [{
        "code": "over_return", "message": f"order line 1 ({shirt}): 3 units returned, but 2 delivered and 0 already returned",
        "line_no": 1, "gtin": shirt, "delivered": 2, "returned": 0, "requested": 3, "returnable": 2,
    }]
    assert level(client, ops, walk_in, jacket)["on_hand"] == 0  # nothing of it was taken
    assert client.get(f"{URL}?order_id={order.order_id}", headers=ops).json() == []
    assert client.post(URL, headers=ops, json=body(order, walk_in, [{"gtin": shirt, "grade": "resellable", "reason": "other"}])).status_code == 201
    last = client.post(URL, headers=ops, json=body(order, walk_in, [{"gtin": shirt, "qty": 2, "grade": "resellable", "reason": "other"}], "RET-2"))
    assert last.json()["error"]["details"]["refused"][0]["returnable"] == 1
    not_ordered = client.post(URL, headers=ops, json=body(order, walk_in, [{"gtin": world["other_gtin"], "grade": "resellable", "reason": "other"}], "RET-3"))
    assert (not_ordered.status_code, not_ordered.json()["error"]["code"]) == (409, "not_in_order")


def test_reading_returns_is_scoped_to_the_store(client: TestClient, ops: dict[str, str], world: dict[str, Any],
                                                auth: Callable[..., dict[str, str]]) -> None:
    order, walk_in, dc, shirt = world["order"], world["walk_in"], world["dc"], world["shirt"]
    at_store = client.post(URL, headers=world["picker"], json=body(order, walk_in, [{"gtin": shirt, "grade": "resellable", "reason": "other"}])).json()
    at_dc = client.post(URL, headers=ops, json=body(order, dc, [{"gtin": shirt, "grade": "damaged", "reason": "other"}], "RET-2")).json()
    assert [r["id"] for r in client.get(f"{URL}?order_id={order.order_id}", headers=ops).json()] == [at_dc["id"], at_store["id"]]
    assert [r["id"] for r in client.get(f"{URL}?location_id={dc}", headers=ops).json()] == [at_dc["id"]]
    assert client.get(f"{URL}/{at_dc['id']}", headers=ops).json() == at_dc
    # A picker sees its store's returns only; another's is not found, exactly like one that does not exist.
    assert [r["id"] for r in client.get(f"{URL}?order_id={order.order_id}", headers=world["picker"]).json()] == [at_store["id"]]
    assert client.get(f"{URL}/{at_store['id']}", headers=world["picker"]).json() == at_store
    hidden, missing = client.get(f"{URL}/{at_dc['id']}", headers=world["picker"]), client.get(f"{URL}/999999", headers=world["picker"])
    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert hidden.json()["error"]["message"].replace(str(at_dc["id"]), "N") == missing.json()["error"]["message"].replace("999999", "N")
    assert client.get(f"{URL}?location_id={dc}", headers=world["picker"]).status_code == 403
    shipper_picker = auth("picker", world["shipper"])
    assert client.get(f"{URL}?order_id={order.order_id}", headers=shipper_picker).json() == []


def test_an_unpriced_line_leaves_the_refund_unknown(client: TestClient, ops: dict[str, str], session: Session,
                                                   make_location: Callable[..., Any], make_product: Callable[..., Any]) -> None:
    store = make_location().id
    priced, unpriced = make_product().gtin, make_product().gtin
    order = deliver(session, store, [(priced, 1, "5.00"), (unpriced, 1, None)])
    answer = client.post(URL, headers=ops, json=body(order, store, [
        {"gtin": priced, "grade": "resellable", "reason": "other"}, {"gtin": unpriced, "grade": "resellable", "reason": "other"}]))
    assert answer.status_code == 201, answer.text
    got = answer.json()
    assert (got["refund_due"], got["refund_note"]) == (None, "order line 2 had no unit price: the refund due is unknown")
    assert [ln["unit_price"] for ln in got["lines"]] == ["5.00", None]
    legacy = deliver(session, store, [(priced, 1, None)], currency=None)
    bare = client.post(URL, headers=ops, json=body(legacy, store, [{"gtin": priced, "grade": "resellable", "reason": "other"}], "RET-2")).json()
    assert (bare["currency"], bare["refund_due"]) == (None, None)


@pytest.mark.parametrize(
    ("reference", "items", "schema_valid"),
    [
        ({"order_id": 1}, [{"gtin": "00614141100002", "grade": "resellable", "reason": "other"}], True),
        ({"pickup_code": "ABC123"}, [{"epc": "3034257BF400B7800004CB2F", "grade": "damaged", "reason": "other"}], True),
        ({}, [{"epc": "3034257BF400B7800004CB2F", "grade": "damaged", "reason": "other"}], True),
        ({"order_id": None, "pickup_code": None}, [{"epc": "3034257BF400B7800004CB2F", "grade": "damaged", "reason": "other"}], True),
        ({}, [{"gtin": "00614141100002", "grade": "resellable", "reason": "other"}], False),
        ({"order_id": 1, "pickup_code": "ABC123"}, [{"epc": "3034257BF400B7800004CB2F", "grade": "damaged", "reason": "other"}], False),
        ({"order_id": 1}, [{"epc": "3034257BF400B7800004CB2F", "gtin": "00614141100002", "grade": "damaged", "reason": "other"}], False),
        ({"order_id": 1}, [{"epc": "3034257BF400B7800004CB2F", "qty": 2, "grade": "damaged", "reason": "other"}], False),
        ({"order_id": 1}, [{"gtin": "00614141100002", "grade": "resellable", "reason": "bored"}], False),
    ],
)
def test_the_order_reference_rule_is_the_schema(client: TestClient, ops: dict[str, str], make_location: Callable[..., Any],
                                                reference: dict[str, Any], items: list[dict[str, Any]], schema_valid: bool) -> None:
    """One of order_id or pickup_code, or neither when every item is an EPC: the schema says what the API applies."""
    spec = create_app(Settings(database_url="sqlite://")).openapi()
    text = json.dumps(spec["components"]["schemas"]).replace("#/components/schemas/", "#/$defs/")
    schema = jsonschema.Draft202012Validator({"$defs": json.loads(text), "$ref": "#/$defs/ReturnCreate"})
    payload = {"external_id": "RET-SHAPE", "location_id": make_location().id, **reference, "items": items}
    assert schema.is_valid(payload) is schema_valid
    answer = client.post(URL, headers=ops, json=payload)
    assert (answer.status_code != 422) is schema_valid, answer.text


def test_the_store_hears_of_the_return_on_its_live_stream(client: TestClient, world: dict[str, Any]) -> None:
    order, walk_in, shirt = world["order"], world["walk_in"], world["shirt"]
    taken = client.post(URL, headers=world["picker"], json=body(order, walk_in, [{"epc": order.epcs[shirt][0], "grade": "resellable", "reason": "too_small"}]))
    assert taken.status_code == 201, taken.text
    stream = read_events(client, f"/api/v1/locations/{walk_in}/stream?from_start=true&max_seconds=1", world["picker"])
    assert [e["event"] for e in stream] == ["stock", "return"]
    told = stream[1]["data"]
    assert (told["kind"], told["order_id"], told["data"]["return_id"], told["data"]["refund_due"]) == ("return.received", order.order_id, taken.json()["id"], "19.90")
    assert told["data"]["items"] == [{"gtin": shirt, "epc": order.epcs[shirt][0], "qty": 1, "grade": "resellable", "reason": "too_small"}]

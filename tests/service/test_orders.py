"""Order intake: web and store orders, idempotent by the client's id, validated with the field named."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fulfil.models import LocationKind


@pytest.fixture()
def world(make_location: Callable[..., Any], make_product: Callable[..., Any]) -> dict[str, str]:
    return {
        "store": make_location(kind=LocationKind.STORE).id,
        "dc": make_location(kind=LocationKind.WAREHOUSE).id,
        "gtin": make_product().gtin,
        "gtin2": make_product().gtin,
    }


def web_order(world: dict[str, str], external_id: str = "W-1", **extra: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "channel": "web",
        "promise_days": 2,
        "ship_to": {"name": "A. Client", "address_lines": ["1 rue X"], "city": "Lyon", "postcode": "69001", "country": "FR", "lat": 45.76, "lon": 4.83},
        "lines": [{"gtin": world["gtin"], "qty": 2}, {"gtin": world["gtin2"], "qty": 1}],
        **extra,
    }


def test_create_web_order_and_read_it_back(client: TestClient, ops: dict[str, str], world: dict[str, str]) -> None:
    created = client.post("/api/v1/orders", headers=ops, json=web_order(world))
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["status"] == "unfillable" and order["channel"] == "web"  # routed on intake; no stock anywhere
    assert [(ln["line_no"], ln["gtin"], ln["qty"]) for ln in order["lines"]] == [(1, world["gtin"], 2), (2, world["gtin2"], 1)]
    assert order["ship_to"]["lat"] == 45.76
    fetched = client.get(f"/api/v1/orders/{order['id']}", headers=ops)
    assert fetched.json() == order
    assert fetched.json()["shipments"] == []


def test_gtin13_is_accepted_and_stored_as_gtin14(client: TestClient, ops: dict[str, str], world: dict[str, str]) -> None:
    body = web_order(world)
    body["lines"] = [{"gtin": world["gtin"][1:], "qty": 1}]
    response = client.post("/api/v1/orders", headers=ops, json=body)
    assert response.status_code == 201, response.text
    assert response.json()["lines"][0]["gtin"] == world["gtin"]


def test_click_and_collect_store_order(client: TestClient, ops: dict[str, str], world: dict[str, str]) -> None:
    body = {"external_id": "S-1", "channel": "store", "pickup_location_id": world["store"], "origin_location_id": world["store"], "lines": [{"gtin": world["gtin"], "qty": 1}]}
    response = client.post("/api/v1/orders", headers=ops, json=body)
    assert response.status_code == 201, response.text
    assert response.json()["pickup_location_id"] == world["store"]


def test_booleans_and_numbers_are_not_coerced(client: TestClient, ops: dict[str, str], world: dict[str, str]) -> None:
    """The body is taken as the schema says: 0 is no boolean, false no number."""
    assert client.patch(f"/api/v1/locations/{world['store']}", headers=ops, json={"active": 0}).json()["error"]["details"][0]["field"] == "body.active"
    assert client.patch(f"/api/v1/locations/{world['store']}", headers=ops, json={"active": "yes"}).status_code == 422
    assert client.post("/api/v1/routing/runs", headers=ops, json={"seed": False}).json()["error"]["details"][0]["field"] == "body.seed"
    body = web_order(world, "BOOL")
    body["lines"][0]["qty"] = True
    assert client.post("/api/v1/orders", headers=ops, json=body).json()["error"]["details"][0]["field"] == "body.lines.0.qty"


def test_retried_post_returns_the_same_order(client: TestClient, ops: dict[str, str], world: dict[str, str]) -> None:
    first = client.post("/api/v1/orders", headers=ops, json=web_order(world))
    retry = client.post("/api/v1/orders", headers=ops, json=web_order(world))
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["id"] == first.json()["id"]
    listed = client.get("/api/v1/orders?external_id=W-1", headers=ops).json()
    assert len(listed) == 1


def test_reused_id_with_a_different_order_is_409(client: TestClient, ops: dict[str, str], world: dict[str, str]) -> None:
    client.post("/api/v1/orders", headers=ops, json=web_order(world))
    changed = web_order(world)
    changed["lines"][0]["qty"] = 3
    response = client.post("/api/v1/orders", headers=ops, json=changed)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("ship_to"), "body"),  # no destination
        (lambda b: b.update(pickup_location_id="X"), "body"),  # two destinations
        (lambda b: b.update(lines=[]), "body.lines"),
        (lambda b: b["lines"][0].update(qty=0), "body.lines.0.qty"),
        (lambda b: b["lines"][1].update(gtin="06141411000X1"), "body.lines.1.gtin"),
        (lambda b: b["lines"][1].update(gtin="00614141100003"), "body.lines.1.gtin"),  # bad check digit
        (lambda b: b.update(channel="fax"), "body.channel"),
        (lambda b: b["ship_to"].update(lat=123), "body.ship_to.lat"),
        (lambda b: b.update(promise_days=-1), "body.promise_days"),
        (lambda b: b.update(external_id="has space"), "body.external_id"),
        (lambda b: b.update(surprise=1), "body.surprise"),
    ],
)
def test_invalid_orders_are_422_naming_the_field(client: TestClient, ops: dict[str, str], world: dict[str, str], mutate: Callable[[dict[str, Any]], Any], field: str) -> None:
    body = web_order(world)
    mutate(body)
    response = client.post("/api/v1/orders", headers=ops, json=body)
    assert response.status_code == 422, response.text
    assert field in {d["field"] for d in response.json()["error"]["details"]}


def test_unknown_records_are_404_and_a_pickup_at_a_warehouse_409(client: TestClient, ops: dict[str, str], world: dict[str, str]) -> None:
    """Schema-valid orders naming records that do not exist (404) or a location that is no store (409), each field named."""
    from tests.conftest import make_gtin

    body = {"external_id": "S-2", "channel": "store", "pickup_location_id": "NOWHERE", "lines": [{"gtin": world["gtin"], "qty": 1}, {"gtin": make_gtin(99999), "qty": 1}]}
    response = client.post("/api/v1/orders", headers=ops, json=body)
    assert response.status_code == 404
    fields = {d["field"]: d["message"] for d in response.json()["error"]["details"]}
    assert fields == {"body.pickup_location_id": "unknown location NOWHERE", "body.lines.1.gtin": f"unknown product {make_gtin(99999)}"}
    at_dc = client.post("/api/v1/orders", headers=ops, json={**body, "external_id": "S-3", "pickup_location_id": world["dc"], "lines": body["lines"][:1]})
    assert at_dc.status_code == 409 and at_dc.json()["error"]["code"] == "not_a_store"
    assert "not a store" in at_dc.json()["error"]["details"][0]["message"]
    assert client.get("/api/v1/orders?external_id=S-2", headers=ops).json() == []


def test_missing_order_is_404(client: TestClient, ops: dict[str, str]) -> None:
    response = client.get("/api/v1/orders/999999", headers=ops)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_list_filters(client: TestClient, ops: dict[str, str], world: dict[str, str]) -> None:
    client.post("/api/v1/orders", headers=ops, json=web_order(world, "W-A"))
    client.post("/api/v1/orders", headers=ops, json={"external_id": "S-B", "channel": "store", "pickup_location_id": world["store"], "lines": [{"gtin": world["gtin"], "qty": 1}]})
    assert [o["external_id"] for o in client.get("/api/v1/orders?channel=store", headers=ops).json()] == ["S-B"]
    assert {o["external_id"] for o in client.get(f"/api/v1/orders?location_id={world['store']}", headers=ops).json()} == {"S-B"}
    assert client.get("/api/v1/orders?status=nonsense", headers=ops).status_code == 422


def test_lines_of_the_same_gtin_become_one_line(client: TestClient, ops: dict[str, str], world: dict[str, str]) -> None:
    body = web_order(world, "DUP-1")
    # The same product three times, once spelled as a GTIN-13: one line of 6, in first-seen order.
    body["lines"] = [{"gtin": world["gtin"], "qty": 2}, {"gtin": world["gtin2"], "qty": 1}, {"gtin": world["gtin"][1:], "qty": 4}]
    created = client.post("/api/v1/orders", headers=ops, json=body)
    assert created.status_code == 201, created.text
    assert [(ln["line_no"], ln["gtin"], ln["qty"]) for ln in created.json()["lines"]] == [(1, world["gtin"], 6), (2, world["gtin2"], 1)]
    # A retry spelled as merged lines is the same order, not a conflict.
    merged = web_order(world, "DUP-1")
    merged["lines"] = [{"gtin": world["gtin"], "qty": 6}, {"gtin": world["gtin2"], "qty": 1}]
    again = client.post("/api/v1/orders", headers=ops, json=merged)
    assert (again.status_code, again.json()["id"]) == (200, created.json()["id"])
    # The 10,000-unit cap is per line as sent: two lines of 6,000 are one line of 12,000, not a refusal.
    large = web_order(world, "DUP-2")
    large["lines"] = [{"gtin": world["gtin"], "qty": 6000}, {"gtin": world["gtin"], "qty": 6000}]
    taken = client.post("/api/v1/orders", headers=ops, json=large)
    assert taken.status_code == 201 and [ln["qty"] for ln in taken.json()["lines"]] == [12000]


def test_a_store_learns_nothing_about_another_stores_order_from_a_reused_id(
    client: TestClient, ops: dict[str, str], auth: Callable[..., dict[str, str]], world: dict[str, str],
    make_location: Callable[..., Any],
) -> None:
    other = make_location(kind=LocationKind.STORE).id
    theirs = client.post("/api/v1/orders", headers=ops, json={
        "external_id": "THEIRS-1", "channel": "store", "pickup_location_id": other, "origin_location_id": other,
        "lines": [{"gtin": world["gtin"], "qty": 1}],
    }).json()
    picker = auth("picker", world["store"])
    mine = {"external_id": "THEIRS-1", "channel": "store", "pickup_location_id": world["store"], "lines": [{"gtin": world["gtin"], "qty": 1}]}
    answer = client.post("/api/v1/orders", headers=picker, json=mine)
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["details"] == {"external_id": "THEIRS-1"} and other not in answer.text and error["message"] == "order id THEIRS-1 is already taken: choose another"
    # Ops still get the id of the order that holds it.
    assert client.post("/api/v1/orders", headers=ops, json={**mine, "origin_location_id": world["store"]}).json()["error"]["details"]["order_id"] == theirs["id"]

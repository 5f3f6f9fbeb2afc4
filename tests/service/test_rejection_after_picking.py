"""A store rejects work after picking: every unit the shipment held is given back (restocked or written off), so no
reservation is left without a shipment holding it (the issue's 155 stuck units), and the order goes elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fulfil.models import LocationKind, RfidTag, TagState
from fulfil.stock.invariant import check
from rfid.epc import encode_sgtin96


@pytest.fixture()
def picked(
    client: TestClient, ops: dict[str, str], auth: Callable[..., dict[str, str]], make_location: Callable[..., Any],
    make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> dict[str, Any]:
    """A store order of 3 units, started and picked at the store; a warehouse that could serve it instead."""
    store = make_location(kind=LocationKind.STORE, lat=45.0, lon=4.0, capacity_per_day=10, pick_cost_per_unit=0.5).id
    dc = make_location(kind=LocationKind.WAREHOUSE, lat=49.5, lon=4.0, capacity_per_day=100, pick_cost_per_unit=0.4).id
    gtin = make_product().gtin
    stock_of(store, gtin, 5)
    stock_of(dc, gtin, 10)
    order = client.post("/api/v1/orders", headers=ops, json={
        "external_id": f"PICKED-{store}", "channel": "store", "pickup_location_id": store, "lines": [{"gtin": gtin, "qty": 3}],
    }).json()
    shipment = order["shipments"][0]["id"]
    picker = auth("picker", store)
    assert client.post(f"/api/v1/shipments/{shipment}/start", headers=picker).status_code == 200
    assert client.post(f"/api/v1/shipments/{shipment}/picked", headers=picker).status_code == 200
    return {"store": store, "dc": dc, "gtin": gtin, "shipment": shipment, "order": order["id"], "picker": picker}


def level(client: TestClient, ops: dict[str, str], loc: str, gtin: str) -> dict[str, Any]:
    return client.get(f"/api/v1/stock/{loc}/{gtin}", headers=ops).json()


def test_a_rejection_after_picking_must_say_what_becomes_of_the_picked_units(
    client: TestClient, ops: dict[str, str], picked: dict[str, Any]
) -> None:
    answer = client.post(f"/api/v1/shipments/{picked['shipment']}/reject", headers=picked["picker"], json={"reason": "damaged"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "body.picked_units"
    # Nothing changed: the shipment still holds its 3 units.
    assert level(client, ops, picked["store"], picked["gtin"])["reserved"] == 3
    assert client.get(f"/api/v1/shipments/{picked['shipment']}", headers=ops).json()["status"] == "picked"


def test_restocked_units_are_released_and_available_again(client: TestClient, ops: dict[str, str], picked: dict[str, Any], session: Session) -> None:
    answer = client.post(
        f"/api/v1/shipments/{picked['shipment']}/reject", headers=picked["picker"], json={"reason": "customer changed store", "picked_units": "restock"}
    )
    assert answer.status_code == 200, answer.text
    assert [s["location_id"] for s in answer.json()["new_shipments"]] == [picked["dc"]]
    store = level(client, ops, picked["store"], picked["gtin"])
    assert (store["on_hand"], store["reserved"], store["available"]) == (5, 0, 5)
    assert level(client, ops, picked["dc"], picked["gtin"])["reserved"] == 3
    assert check(session) == []


def test_written_off_units_leave_stock_with_a_loss_event_and_the_reason(
    client: TestClient, ops: dict[str, str], picked: dict[str, Any], session: Session
) -> None:
    answer = client.post(
        f"/api/v1/shipments/{picked['shipment']}/reject", headers=picked["picker"], json={"reason": "damaged", "picked_units": "write_off"}
    )
    assert answer.status_code == 200, answer.text
    store = level(client, ops, picked["store"], picked["gtin"])
    assert (store["on_hand"], store["reserved"], store["available"]) == (2, 0, 2)
    events = client.get(f"/api/v1/stock/events?location_id={picked['store']}&order_id={picked['order']}", headers=ops).json()
    losses = [e for e in events if e["kind"] == "loss"]
    assert [(e["on_hand_delta"], e["reserved_delta"], e["reason"], e["note"], e["shipment_id"]) for e in losses] == [
        (-3, -3, "written off", "rejected: damaged", picked["shipment"])
    ]
    assert check(session) == []


def test_a_partly_verified_parcel_frees_its_tags_when_rejected(
    client: TestClient, ops: dict[str, str], picked: dict[str, Any], session: Session
) -> None:
    """Tags already packed into the rejected shipment leave it: in stock again when restocked."""
    epc = encode_sgtin96(picked["gtin"], 77, 7)
    session.add(RfidTag(epc=epc, gtin=picked["gtin"], location_id=picked["store"], state=TagState.PACKED, shipment_id=picked["shipment"]))
    session.commit()
    answer = client.post(
        f"/api/v1/shipments/{picked['shipment']}/reject", headers=picked["picker"], json={"reason": "label printer down", "picked_units": "restock"}
    )
    assert answer.status_code == 200, answer.text
    tag = client.get(f"/api/v1/tags/{epc}", headers=ops).json()
    assert (tag["state"], tag.get("shipment_id")) == ("in_stock", None)


def test_an_unpicked_shipment_needs_no_disposition(client: TestClient, ops: dict[str, str], auth: Callable[..., dict[str, str]],
                                                   make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None]) -> None:
    store = make_location(kind=LocationKind.STORE).id
    gtin = make_product().gtin
    stock_of(store, gtin, 4)
    order = client.post("/api/v1/orders", headers=ops, json={
        "external_id": "UNPICKED", "channel": "store", "pickup_location_id": store, "lines": [{"gtin": gtin, "qty": 2}],
    }).json()
    shipment = order["shipments"][0]["id"]
    picker = auth("picker", store)
    client.post(f"/api/v1/shipments/{shipment}/start", headers=picker)
    answer = client.post(f"/api/v1/shipments/{shipment}/reject", headers=picker, json={"reason": "short pick"})
    assert answer.status_code == 200, answer.text
    assert level(client, ops, store, gtin)["reserved"] == 0

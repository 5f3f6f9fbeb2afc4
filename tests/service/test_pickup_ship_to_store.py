"""Ship-to-store through the API: another location picks, packs and ships the parcel to the pickup store, which
receives it (by shipment id or by scanning its SSCC): its units enter the store's stock already reserved, then it
is made ready and handed over. The pickup store's staff may receive, ready and hand over it, and nothing else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fulfil.models import LocationKind, ParcelStatus, StockEventKind, TagState
from tests.click_and_collect import events, level, place, stock_events, tag, tag_states, verified


@pytest.fixture()
def world(
    client: TestClient, ops: dict[str, str], auth: Callable[..., dict[str, str]], make_location: Callable[..., Any],
    make_product: Callable[..., Any], stock_of: Callable[..., None], session: Session,
) -> dict[str, Any]:
    """A pickup store without the product and another store with it: the order is served from the other store
    (`dc` below: any location but the pickup store) and shipped to the pickup store. The parcel is verified there."""
    store = make_location(kind=LocationKind.STORE, name="Lyon Bellecour", lat=45.76, lon=4.83).id
    dc = make_location(kind=LocationKind.STORE, name="Villeurbanne", lat=45.77, lon=4.88, capacity_per_day=None).id
    gtin = make_product().gtin
    stock_of(dc, gtin, 10)
    epcs = tag(session, dc, gtin, 2)
    order = place(client, ops, store, {gtin: 2})
    [shipment] = order["shipments"]
    assert (shipment["location_id"], shipment["pickup_location_id"], shipment["held_at"]) == (dc, store, dc)
    dc_staff = auth("picker", dc)
    packed = verified(client, dc_staff, session, shipment, epcs)
    return {"store": store, "dc": dc, "gtin": gtin, "epcs": epcs, "order": order, "shipment": shipment["id"], "sscc": packed["sscc"],
            "dc_staff": dc_staff, "store_staff": auth("picker", store)}


def ship(client: TestClient, world: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(f"/api/v1/shipments/{world['shipment']}/ship", headers=world["dc_staff"])
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_ship_to_store_end_to_end(client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session) -> None:
    sid, store, dc, gtin = world["shipment"], world["store"], world["dc"], world["gtin"]
    # Verified where it was packed, it is not ready at the store yet: it must travel there first.
    early = client.post(f"/api/v1/shipments/{sid}/ready", headers=world["store_staff"])
    assert early.status_code == 409 and early.json()["error"]["code"] == "ship_to_store", early.text
    shipped = ship(client, world)
    assert shipped["status"] == "in_transit" and shipped["parcels"][0]["status"] == "shipped"
    assert level(client, ops, dc, gtin) == (8, 0, 8, 0)  # consumed where it was packed, as a home delivery
    assert client.get(f"/api/v1/stock/{store}/{gtin}", headers=ops).status_code == 404  # never stocked at the pickup store
    assert {s for s, _loc, _sid in tag_states(session, world["epcs"]).values()} == {TagState.SHIPPED}
    # The store sees it coming: in its pickups and as a task to receive.
    waiting = client.get("/api/v1/pickups", headers=world["store_staff"]).json()
    assert [(p["shipment_id"], p["status"], p["location_id"], p["parcels"][0]["sscc"]) for p in waiting] == [(sid, "in_transit", dc, world["sscc"])]
    tasks = client.get(f"/api/v1/stores/{store}/tasks?kind=receive", headers=world["store_staff"]).json()
    assert [(t["shipment_id"], t["detail"]["shipment_status"]) for t in tasks] == [(sid, "in_transit")]
    # Received at the store: the units enter its stock reserved for the order (no walk-in can buy them).
    received = client.post(f"/api/v1/shipments/{sid}/receive", headers=world["store_staff"])
    assert received.status_code == 200, received.text
    assert (received.json()["status"], received.json()["held_at"], received.json()["parcels"][0]["status"]) == ("received", store, "received")
    assert level(client, ops, store, gtin) == (2, 2, 0, 0)
    [receipt] = [e for e in stock_events(session, sid) if e.location_id == store]
    assert (receipt.kind, receipt.on_hand_delta, receipt.reserved_delta) == (StockEventKind.RECEIPT, 2, 2)
    assert set(tag_states(session, world["epcs"]).values()) == {(TagState.PACKED, store, sid)}
    # Receiving it again (a second tap, a retry) changes nothing.
    again = client.post(f"/api/v1/shipments/{sid}/receive", headers=world["store_staff"])
    assert again.status_code == 200 and again.json()["status"] == "received"
    assert level(client, ops, store, gtin) == (2, 2, 0, 0)
    # The receive task lasts until it is staged.
    tasks = client.get(f"/api/v1/stores/{store}/tasks?kind=receive", headers=world["store_staff"]).json()
    assert [t["detail"]["shipment_status"] for t in tasks] == ["received"]
    ready = client.post(f"/api/v1/shipments/{sid}/ready", headers=world["store_staff"])
    assert ready.status_code == 200 and ready.json()["status"] == "ready_for_pickup", ready.text
    assert client.get(f"/api/v1/stores/{store}/tasks?kind=receive", headers=world["store_staff"]).json() == []
    assert client.get(f"/api/v1/orders/{world['order']['id']}", headers=ops).json()["status"] == "ready_for_pickup"
    code = client.get(f"/api/v1/orders/{world['order']['id']}", headers=ops).json()["pickup"]["code"]
    handed = client.post(f"/api/v1/shipments/{sid}/handover", headers=world["store_staff"], json={"pickup_code": code})
    assert handed.status_code == 200, handed.text
    assert handed.json()["order_status"] == "collected"
    assert level(client, ops, store, gtin) == (0, 0, 0, 0)
    assert level(client, ops, dc, gtin) == (8, 0, 8, 0)
    collected = [e for e in stock_events(session, sid) if e.kind is StockEventKind.COLLECTION]
    assert [(e.location_id, e.on_hand_delta, e.reserved_delta) for e in collected] == [(store, -2, -2)]
    assert set(tag_states(session, world["epcs"]).values()) == {(TagState.SOLD, store, sid)}
    kinds = [e.kind for e in events(session, world["order"]["id"]) if e.location_id == store]
    for kind in ("shipment.in_transit", "shipment.received", "shipment.ready_for_pickup", "order.ready_for_pickup", "shipment.collected", "order.collected"):
        assert kind in kinds, kind


def test_the_pickup_store_only_receives_readies_and_hands_over(client: TestClient, world: dict[str, Any]) -> None:
    sid = world["shipment"]
    assert client.get(f"/api/v1/shipments/{sid}", headers=world["store_staff"]).status_code == 200
    for action in ("ship", "start", "picked"):
        assert client.post(f"/api/v1/shipments/{sid}/{action}", headers=world["store_staff"]).status_code == 403, action
    reject = client.post(f"/api/v1/shipments/{sid}/reject", headers=world["store_staff"], json={"reason": "no", "picked_units": "restock"})
    assert reject.status_code == 403
    ship(client, world)
    # The serving store does not receive, ready or hand over what it sent to a store.
    assert client.post(f"/api/v1/shipments/{sid}/receive", headers=world["dc_staff"]).status_code == 403
    assert client.post(f"/api/v1/shipments/{sid}/ready", headers=world["dc_staff"]).status_code == 403
    answer = client.post(f"/api/v1/shipments/{sid}/handover", headers=world["dc_staff"], json={"pickup_code": "ABCD2345"})
    assert answer.status_code == 403


@pytest.mark.parametrize("scanned", ["{sscc}", "(00){sscc}", "00{sscc}", "]C100{sscc}"])
def test_receiving_by_scanning_the_parcel_label(client: TestClient, ops: dict[str, str], world: dict[str, Any], scanned: str) -> None:
    ship(client, world)
    answer = client.post("/api/v1/pickups/receive", headers=world["store_staff"], json={"sscc": scanned.format(sscc=world["sscc"])})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["id"], answer.json()["status"]) == (world["shipment"], "received")
    assert level(client, ops, world["store"], world["gtin"]) == (2, 2, 0, 0)
    again = client.post("/api/v1/pickups/receive", headers=world["store_staff"], json={"sscc": world["sscc"]})
    assert again.status_code == 200 and again.json()["status"] == "received"
    assert level(client, ops, world["store"], world["gtin"]) == (2, 2, 0, 0)


def test_a_label_of_no_parcel_or_of_another_store_is_not_found(
    client: TestClient, world: dict[str, Any], auth: Callable[..., dict[str, str]], make_location: Callable[..., Any]
) -> None:
    ship(client, world)
    other = auth("picker", make_location(kind=LocationKind.STORE).id)
    assert client.post("/api/v1/pickups/receive", headers=other, json={"sscc": world["sscc"]}).status_code == 404
    unknown = "0" + world["sscc"][1:-1] + str((int(world["sscc"][-1]) + 1) % 10)
    answer = client.post("/api/v1/pickups/receive", headers=world["store_staff"], json={"sscc": unknown})
    assert answer.status_code == 404 and "check digit" in answer.json()["error"]["message"]
    bad = client.post("/api/v1/pickups/receive", headers=world["store_staff"], json={"sscc": "12345"})
    assert bad.status_code == 422


def test_a_parcel_not_shipped_yet_cannot_be_received(client: TestClient, ops: dict[str, str], world: dict[str, Any]) -> None:
    answer = client.post(f"/api/v1/shipments/{world['shipment']}/receive", headers=world["store_staff"])
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "invalid_transition", answer.text
    assert answer.json()["error"]["details"]["status"] == "verified"
    parcel = client.get(f"/api/v1/shipments/{world['shipment']}", headers=ops).json()["parcels"][0]
    assert parcel["status"] == ParcelStatus.VERIFIED.value


def test_pickups_list_filters_and_pages(client: TestClient, ops: dict[str, str], world: dict[str, Any]) -> None:
    ship(client, world)
    everywhere = client.get("/api/v1/pickups", headers=ops).json()
    assert world["shipment"] in [p["shipment_id"] for p in everywhere]
    mine = client.get(f"/api/v1/pickups?location_id={world['store']}", headers=ops).json()
    assert [(p["external_id"], p["lines"]) for p in mine] == [(world["order"]["external_id"], [{"gtin": world["gtin"], "qty": 2}])]
    assert client.get(f"/api/v1/pickups?location_id={world['store']}&status=ready_for_pickup", headers=ops).json() == []
    assert client.get(f"/api/v1/pickups?location_id={world['store']}&offset=1", headers=ops).json() == []
    assert client.get(f"/api/v1/pickups?location_id={world['dc']}", headers=ops).json() == []  # served there, collected elsewhere

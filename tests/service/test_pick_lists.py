"""Pick lists in walking order, and batches picked together with a numbered, coloured slot per order."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fulfil.models import LocationKind
from fulfil.shipments.pick_lists import place_key
from rfid.epc import encode_sgtin96
from tests.service.flows import act, place, shipment_at


def test_walking_order_reads_places_as_people_do() -> None:
    places = [("A10", "01", "1"), ("A2", "01", "2"), (None, None, None), ("A2", "01", "1"), ("a2", "10", "1"), ("A2", "9", "1"), ("B1", None, None)]
    ordered = sorted(places, key=lambda p: place_key(*p))
    assert ordered == [("A2", "01", "1"), ("A2", "01", "2"), ("A2", "9", "1"), ("a2", "10", "1"), ("A10", "01", "1"), ("B1", None, None), (None, None, None)]


@pytest.fixture()
def shop(make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None],
         auth: Callable[..., dict[str, str]]) -> dict[str, Any]:
    store = make_location(kind=LocationKind.STORE, lat=45.0, lon=4.0, capacity_per_day=50, pick_cost_per_unit=0.5).id
    products = {
        "boots": make_product(name="Bottes", size="42", colour="brown", aisle="A10", bay="01", shelf="1").gtin,
        "socks": make_product(name="Chaussettes", aisle="A2", bay="03", shelf="2").gtin,
        "scarf": make_product(name="Écharpe", aisle="A2", bay="03", shelf="1").gtin,
        "gift": make_product(name="Carte cadeau", aisle=None, bay=None, shelf=None).gtin,  # no place: last
    }
    for gtin in products.values():
        stock_of(store, gtin, 10)
    return {"store": store, **products, "picker": auth("picker", store)}


def _started(client: TestClient, ops: dict[str, str], shop: dict[str, Any], lines: dict[str, int]) -> int:
    sid = shipment_at(place(client, ops, {shop[k]: q for k, q in lines.items()}, store=shop["store"]), shop["store"])["id"]
    act(client, shop["picker"], sid, "start")
    return int(sid)


def test_one_shipment_in_walking_order(client: TestClient, ops: dict[str, str], shop: dict[str, Any]) -> None:
    sid = _started(client, ops, shop, {"boots": 1, "gift": 1, "socks": 2, "scarf": 1})
    listed = client.get("/api/v1/pick-lists", headers=shop["picker"], params={"shipment_id": sid})
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [ln["name"] for ln in body["lines"]] == ["Écharpe", "Chaussettes", "Bottes", "Carte cadeau"]
    boots = body["lines"][2]
    assert (boots["size"], boots["colour"], boots["aisle"], boots["bay"], boots["shelf"]) == ("42", "brown", "A10", "01", "1")
    assert body["slots"] == [{"slot": 1, "colour": "red", "shipment_id": sid, "order_id": body["slots"][0]["order_id"], "qty": 5, "picked_qty": 0}]


def test_a_batch_merges_lines_and_scans_fill_the_first_slot_that_needs_them(client: TestClient, ops: dict[str, str], shop: dict[str, Any]) -> None:
    first = _started(client, ops, shop, {"socks": 1, "boots": 1})
    second = _started(client, ops, shop, {"socks": 2})
    batch = [first, second]
    body = client.get("/api/v1/pick-lists", headers=shop["picker"], params={"shipment_id": batch}).json()
    socks = next(ln for ln in body["lines"] if ln["name"] == "Chaussettes")
    assert socks["qty"] == 3 and [(s["slot"], s["colour"], s["qty"]) for s in socks["slots"]] == [(1, "red", 1), (2, "blue", 2)]
    assert [s["colour"] for s in body["slots"]] == ["red", "blue"]

    def scan(code: str, scan_id: str | None = None) -> dict[str, Any]:
        answer = client.post("/api/v1/pick-lists/scans", headers=shop["picker"], json={
            "shipment_ids": batch, "scan_id": scan_id or uuid.uuid4().hex, "code": code})
        assert answer.status_code == 200, answer.text
        return answer.json()

    one = scan(shop["socks"], "s-1")
    assert (one["slot"], one["slot_colour"], one["shipment_id"], one["accepted"]) == (1, "red", first, True)
    assert scan(shop["socks"], "s-1")["replayed"]  # the same scan again: same slot, nothing counted
    two = scan(shop["socks"])
    assert (two["slot"], two["slot_colour"], two["accepted"]) == (2, "blue", True)
    assert scan(shop["socks"])["slot"] == 2
    too_many = scan(shop["socks"])
    assert too_many["outcome"] == "already_complete"
    wrong = scan(shop["scarf"])
    assert wrong["outcome"] == "wrong_item" and wrong["slot"] == 1
    after = client.get("/api/v1/pick-lists", headers=shop["picker"], params={"shipment_id": batch}).json()
    assert [(s["slot"], s["picked_qty"], s["qty"]) for s in after["slots"]] == [(1, 1, 2), (2, 2, 2)]


def test_a_tag_counted_in_one_slot_is_never_counted_in_another(client: TestClient, ops: dict[str, str], shop: dict[str, Any]) -> None:
    batch = [_started(client, ops, shop, {"boots": 1}), _started(client, ops, shop, {"boots": 1})]
    epc = encode_sgtin96(shop["boots"], 99, company_prefix_length=7)
    first = client.post("/api/v1/pick-lists/scans", headers=shop["picker"], json={"shipment_ids": batch, "scan_id": "t-1", "code": epc}).json()
    again = client.post("/api/v1/pick-lists/scans", headers=shop["picker"], json={"shipment_ids": batch, "scan_id": "t-2", "code": epc}).json()
    assert (first["slot"], first["accepted"]) == (1, True)
    assert (again["slot"], again["outcome"]) == (1, "duplicate_item")


def test_batches_are_bounded_and_in_one_store(
    client: TestClient, ops: dict[str, str], shop: dict[str, Any], make_location: Callable[..., Any], stock_of: Callable[..., None],
    auth: Callable[..., dict[str, str]],
) -> None:
    sid = _started(client, ops, shop, {"socks": 1})
    assert client.get("/api/v1/pick-lists", headers=shop["picker"], params={"shipment_id": [sid, sid]}).status_code == 422
    assert client.get("/api/v1/pick-lists", headers=shop["picker"], params={"shipment_id": [sid] * 9}).status_code == 422
    assert client.get("/api/v1/pick-lists", headers=shop["picker"]).status_code == 422
    elsewhere = make_location(kind=LocationKind.STORE, lat=45.0, lon=4.0).id
    stock_of(elsewhere, shop["gift"], 3)
    theirs = shipment_at(place(client, ops, {shop["gift"]: 1}, store=elsewhere), elsewhere)["id"]
    assert client.get("/api/v1/pick-lists", headers=shop["picker"], params={"shipment_id": [sid, theirs]}).status_code == 404  # not our store
    mixed = client.get("/api/v1/pick-lists", headers=ops, params={"shipment_id": [sid, theirs]})
    assert mixed.status_code == 409 and mixed.json()["error"]["code"] == "mixed_locations"

"""Same-store click and collect through the API: picked, packed and RFID-verified at the pickup store, made ready
(units stay reserved: no walk-in can buy them), handed over on the customer's code, with refusals."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.models import Handover, LocationKind, StockEventKind, TagState
from fulfil.pickups.codes import ALPHABET, CODE_LENGTH
from tests.click_and_collect import events, level, place, stock_events, tag, tag_states, verified


@pytest.fixture()
def world(
    client: TestClient, ops: dict[str, str], auth: Callable[..., dict[str, str]], make_location: Callable[..., Any],
    make_product: Callable[..., Any], stock_of: Callable[..., None], session: Session,
) -> dict[str, Any]:
    """A store with two products in stock and tagged; a pickup order there (2 of A, 1 of B), routed to the store
    itself; the parcel picked, packed and verified by its tags."""
    store = make_location(kind=LocationKind.STORE, name="Lyon Part-Dieu", lat=45.76, lon=4.86).id
    a, b = make_product().gtin, make_product().gtin
    stock_of(store, a, 5)
    stock_of(store, b, 3)
    tags = {a: tag(session, store, a, 2), b: tag(session, store, b, 1)}
    order = place(client, ops, store, {a: 2, b: 1})
    [shipment] = order["shipments"]
    assert shipment["location_id"] == store and shipment["pickup_location_id"] == store
    picker = auth("picker", store)
    verified(client, picker, session, shipment, tags[a] + tags[b])
    return {"store": store, "a": a, "b": b, "tags": tags, "order": order, "shipment": shipment["id"], "picker": picker}


def ready(client: TestClient, world: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(f"/api/v1/shipments/{world['shipment']}/ready", headers=world["picker"])
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def code_of(client: TestClient, ops: dict[str, str], world: dict[str, Any]) -> str:
    code: str = client.get(f"/api/v1/orders/{world['order']['id']}", headers=ops).json()["pickup"]["code"]
    return code


def test_a_same_store_parcel_does_not_ship_it_is_made_ready(client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session) -> None:
    refused = client.post(f"/api/v1/shipments/{world['shipment']}/ship", headers=world["picker"])
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "collected_here", refused.text
    assert "/ready" in refused.json()["error"]["message"]
    shipment = ready(client, world)
    assert shipment["status"] == "ready_for_pickup" and shipment["held_at"] == world["store"]
    assert shipment["expires_at"] is not None and shipment["ready_at"] is not None
    held = datetime.fromisoformat(shipment["expires_at"]) - datetime.fromisoformat(shipment["ready_at"])
    assert held == timedelta(days=7)  # the store's default hold period
    # The units stay reserved at the store: on the books they are not available to a walk-in.
    assert level(client, ops, world["store"], world["a"]) == (5, 2, 3, 0)
    order = client.get(f"/api/v1/orders/{world['order']['id']}", headers=ops).json()
    assert order["status"] == "ready_for_pickup"
    # Nor can a till sell a unit in the pickup bag.
    sale = client.post("/api/v1/sales", headers=world["picker"], json={"location_id": world["store"], "epcs": world["tags"][world["a"]][:1]})
    assert sale.status_code == 200 and sale.json()[0]["outcome"] == "not_in_stock_here", sale.text
    # Made ready again (a retried tap): the same answer, nothing new.
    before = len(events(session, world["order"]["id"]))
    again = ready(client, world)
    assert (again["status"], again["ready_at"], again["expires_at"]) == ("ready_for_pickup", shipment["ready_at"], shipment["expires_at"])
    assert len(events(session, world["order"]["id"])) == before


def test_the_customer_is_told_with_the_code_and_the_store_is_not(client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session) -> None:
    ready(client, world)
    code = code_of(client, ops, world)
    [notice] = events(session, world["order"]["id"], "pickup.ready")
    assert notice.location_id is None  # the customer's message
    assert notice.data["pickup_code"] == code and notice.data["qr_payload"] == f"FULFIL:PICKUP:{world['order']['id']}:{code}"
    assert notice.data["store"]["name"] == "Lyon Part-Dieu" and notice.data["order_ready"] is True
    assert sorted((line["gtin"], line["qty"]) for line in notice.data["lines"]) == sorted([(world["a"], 2), (world["b"], 1)])
    at_store = [e for e in events(session, world["order"]["id"]) if e.location_id == world["store"]]
    assert {"shipment.ready_for_pickup", "order.ready_for_pickup"} <= {e.kind for e in at_store}
    assert all(code not in repr(e.data) for e in at_store)  # what the store's stream carries never holds the code


def test_the_pickup_code_is_short_human_and_for_ops_only(client: TestClient, ops: dict[str, str], world: dict[str, Any]) -> None:
    order_id = world["order"]["id"]
    pickup = client.get(f"/api/v1/orders/{order_id}", headers=ops).json()["pickup"]
    assert re.fullmatch(f"[{ALPHABET}]{{{CODE_LENGTH}}}", pickup["code"])
    assert pickup["display"] == pickup["code"][:4] + "-" + pickup["code"][4:]
    assert world["order"]["pickup"] == pickup  # the intake answer carries it for the channel
    # The store reads the order without it: the code is checked at handover, not read off the screen.
    as_store = client.get(f"/api/v1/orders/{order_id}", headers=world["picker"])
    assert as_store.status_code == 200 and as_store.json()["pickup"] is None
    assert pickup["code"] not in as_store.text
    waiting = client.get("/api/v1/pickups", headers=world["picker"])
    assert pickup["code"] not in waiting.text


def test_handover_with_the_code_collects_the_order(client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session) -> None:
    ready(client, world)
    code = code_of(client, ops, world)
    typed = (code[:4] + "-" + code[4:]).lower()  # as a customer may read it out
    answer = client.post(f"/api/v1/shipments/{world['shipment']}/handover", headers=world["picker"], json={"pickup_code": typed})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["shipment"]["status"] == "collected" and body["order_status"] == "collected"
    assert body["authorised_by"] == "pickup_code" and body["refused"] == []
    assert sorted((u["gtin"], u["qty"]) for u in body["delivered"]) == sorted([(world["a"], 2), (world["b"], 1)])
    assert all(p["status"] == "collected" for p in body["shipment"]["parcels"])
    assert level(client, ops, world["store"], world["a"]) == (3, 0, 3, 0)
    assert level(client, ops, world["store"], world["b"]) == (2, 0, 2, 0)
    collections = [e for e in stock_events(session, world["shipment"]) if e.kind is StockEventKind.COLLECTION]
    assert sorted((e.gtin, e.on_hand_delta, e.reserved_delta) for e in collections) == sorted([(world["a"], -2, -2), (world["b"], -1, -1)])
    # The tags left with the customer, still naming the shipment (a later return finds the order).
    epcs = world["tags"][world["a"]] + world["tags"][world["b"]]
    assert {state for state, _loc, sid in tag_states(session, epcs).values() if sid == world["shipment"]} == {TagState.SOLD}
    kinds = [e.kind for e in events(session, world["order"]["id"])]
    assert "pickup.collected" in kinds and "order.collected" in kinds and "order.items_refused" not in kinds
    # A retry (the network dropped the answer) answers the same and changes nothing.
    n_events, n_stock = len(events(session, world["order"]["id"])), len(stock_events(session, world["shipment"]))
    retry = client.post(f"/api/v1/shipments/{world['shipment']}/handover", headers=world["picker"], json={"pickup_code": typed})
    assert retry.status_code == 200 and retry.json() == body
    assert (len(events(session, world["order"]["id"])), len(stock_events(session, world["shipment"]))) == (n_events, n_stock)
    # Another handover of the same parcel is a conflict.
    other = client.post(f"/api/v1/shipments/{world['shipment']}/handover", headers=world["picker"],
                        json={"pickup_code": code, "refused": [{"gtin": world["a"], "qty": 1, "reason": "changed mind"}]})
    assert other.status_code == 409 and other.json()["error"]["code"] == "already_handed_over", other.text


def test_a_wrong_code_is_refused_and_changes_nothing(client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session) -> None:
    ready(client, world)
    code = code_of(client, ops, world)
    wrong = ("2" if code[0] != "2" else "3") + code[1:]
    before = (len(events(session, world["order"]["id"])), len(stock_events(session, world["shipment"])))
    answer = client.post(f"/api/v1/shipments/{world['shipment']}/handover", headers=world["picker"], json={"pickup_code": wrong})
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "wrong_pickup_code", answer.text
    assert "does not match" in answer.json()["error"]["message"]
    assert client.get(f"/api/v1/shipments/{world['shipment']}", headers=ops).json()["status"] == "ready_for_pickup"
    assert level(client, ops, world["store"], world["a"]) == (5, 2, 3, 0)
    assert (len(events(session, world["order"]["id"])), len(stock_events(session, world["shipment"]))) == before
    assert session.scalars(select(Handover).where(Handover.shipment_id == world["shipment"])).first() is None


def test_only_ops_may_hand_over_without_the_code(client: TestClient, ops: dict[str, str], world: dict[str, Any]) -> None:
    ready(client, world)
    body = {"override_reason": "phone lost; ID card and order confirmation email checked"}
    as_picker = client.post(f"/api/v1/shipments/{world['shipment']}/handover", headers=world["picker"], json=body)
    assert as_picker.status_code == 403 and as_picker.json()["error"]["code"] == "override_not_allowed", as_picker.text
    both = client.post(f"/api/v1/shipments/{world['shipment']}/handover", headers=ops, json={**body, "pickup_code": "ABCD2345"})
    assert both.status_code == 422  # one way of authorising or the other
    as_ops = client.post(f"/api/v1/shipments/{world['shipment']}/handover", headers=ops, json=body)
    assert as_ops.status_code == 200, as_ops.text
    assert (as_ops.json()["authorised_by"], as_ops.json()["override_reason"]) == ("override", body["override_reason"])


def test_refused_items_go_back_to_stock_or_quarantine_and_the_order_records_them(
    client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session
) -> None:
    ready(client, world)
    refused = [{"gtin": world["a"], "qty": 1, "damaged": False, "reason": "wrong size"},
               {"gtin": world["b"], "qty": 1, "damaged": True, "reason": "box crushed"}]
    answer = client.post(f"/api/v1/shipments/{world['shipment']}/handover", headers=world["picker"],
                         json={"pickup_code": code_of(client, ops, world), "refused": refused})
    assert answer.status_code == 200, answer.text
    assert answer.json()["delivered"] == [{"gtin": world["a"], "qty": 1}]
    assert answer.json()["order_status"] == "collected"
    # A: one left with the customer, one back on the shelf at once. B: the damaged one is in quarantine.
    assert level(client, ops, world["store"], world["a"]) == (4, 0, 4, 0)
    assert level(client, ops, world["store"], world["b"]) == (2, 0, 2, 1)
    kinds = sorted((e.gtin, e.kind.value, e.on_hand_delta, e.reserved_delta, e.quarantine_delta) for e in stock_events(session, world["shipment"])
                   if e.kind in (StockEventKind.COLLECTION, StockEventKind.RELEASE, StockEventKind.QUARANTINE))
    assert kinds == sorted([(world["a"], "collection", -1, -1, 0), (world["a"], "release", 0, -1, 0), (world["b"], "quarantine", -1, -1, 1)])
    # The handover keeps the refusals in the shape the returns flow reads.
    row = session.scalars(select(Handover).where(Handover.shipment_id == world["shipment"])).one()
    assert row.refused == sorted(refused, key=lambda r: (r["gtin"], r["damaged"]))
    assert all(set(r) == {"gtin", "qty", "damaged", "reason"} for r in row.refused)
    [notice] = [e for e in events(session, world["order"]["id"], "order.items_refused") if e.location_id is None]
    assert notice.data["refused"] == row.refused
    states = tag_states(session, world["tags"][world["a"]] + world["tags"][world["b"]])
    a_states = sorted((s.value, sid is None) for s, _loc, sid in (states[e] for e in world["tags"][world["a"]]))
    assert a_states == [("in_stock", True), ("sold", False)]
    assert states[world["tags"][world["b"]][0]] == (TagState.QUARANTINED, world["store"], None)


@pytest.mark.parametrize(
    ("refused", "code"),
    [
        ([{"gtin": "00614141999996", "qty": 1, "reason": "not ours"}], "not_in_shipment"),
        ([{"gtin": "A", "qty": 2, "reason": "x"}, {"gtin": "A", "qty": 1, "damaged": True, "reason": "y"}], "refused_more_than_carried"),
    ],
)
def test_refusals_must_be_units_of_the_parcel(
    client: TestClient, ops: dict[str, str], world: dict[str, Any], refused: list[dict[str, Any]], code: str
) -> None:
    ready(client, world)
    body = {"pickup_code": code_of(client, ops, world), "refused": [{**r, "gtin": world["a"] if r["gtin"] == "A" else r["gtin"]} for r in refused]}
    answer = client.post(f"/api/v1/shipments/{world['shipment']}/handover", headers=world["picker"], json=body)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == code, answer.text
    assert client.get(f"/api/v1/shipments/{world['shipment']}", headers=ops).json()["status"] == "ready_for_pickup"
    assert level(client, ops, world["store"], world["a"]) == (5, 2, 3, 0)


def test_a_parcel_not_ready_cannot_be_handed_over(client: TestClient, ops: dict[str, str], world: dict[str, Any]) -> None:
    answer = client.post(f"/api/v1/shipments/{world['shipment']}/handover", headers=world["picker"],
                         json={"pickup_code": code_of(client, ops, world)})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "invalid_transition", answer.text
    assert level(client, ops, world["store"], world["a"]) == (5, 2, 3, 0)


def test_another_store_learns_nothing(client: TestClient, world: dict[str, Any], auth: Callable[..., dict[str, str]], make_location: Callable[..., Any]) -> None:
    other = auth("picker", make_location(kind=LocationKind.STORE).id)
    for action in ("ready", "receive"):
        assert client.post(f"/api/v1/shipments/{world['shipment']}/{action}", headers=other).status_code == 404
    answer = client.post(f"/api/v1/shipments/{world['shipment']}/handover", headers=other, json={"pickup_code": "ABCD2345"})
    assert answer.status_code == 404
    assert client.get(f"/api/v1/pickups?location_id={world['store']}", headers=other).status_code == 403


def test_home_deliveries_have_no_pickup_code_and_no_pickup_steps(
    client: TestClient, ops: dict[str, str], make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None]
) -> None:
    store = make_location(kind=LocationKind.STORE, lat=45.76, lon=4.86).id
    gtin = make_product().gtin
    stock_of(store, gtin, 2)
    order = client.post("/api/v1/orders", headers=ops, json={
        "external_id": "HOME-1", "channel": "web", "ship_to": {"lat": 45.7, "lon": 4.8}, "lines": [{"gtin": gtin, "qty": 1}],
    }).json()
    assert order["pickup"] is None and order["shipments"][0]["pickup_location_id"] is None
    answer = client.post(f"/api/v1/shipments/{order['shipments'][0]['id']}/ready", headers=ops)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "not_click_and_collect"


def test_every_pickup_order_gets_its_own_code(client: TestClient, ops: dict[str, str], make_location: Callable[..., Any], make_product: Callable[..., Any]) -> None:
    store = make_location(kind=LocationKind.STORE).id
    gtin = make_product().gtin
    codes = {place(client, ops, store, {gtin: 1})["pickup"]["code"] for _ in range(20)}
    assert len(codes) == 20


def test_a_code_already_taken_is_drawn_again(
    client: TestClient, ops: dict[str, str], make_location: Callable[..., Any], make_product: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fulfil.pickups import codes

    store = make_location(kind=LocationKind.STORE).id
    gtin = make_product().gtin
    drawn = iter(["KKKK2222", "KKKK2222", "KKKK2222", "MMMM3333"])
    monkeypatch.setattr(codes, "new_code", lambda: next(drawn))
    first = place(client, ops, store, {gtin: 1})
    second = place(client, ops, store, {gtin: 1})  # collides twice, then gets a free code
    assert (first["pickup"]["code"], second["pickup"]["code"]) == ("KKKK2222", "MMMM3333")


def test_the_tags_scanned_at_the_counter_are_the_ones_taken_back(
    client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session
) -> None:
    """The count alone would take the parcel's first tag by EPC; the tag the customer actually handed back is the one
    that goes back on the shelf (a later read of the other, sold, is then rightly an anomaly)."""
    ready(client, world)
    first, second = sorted(world["tags"][world["a"]])
    refused = [{"gtin": world["a"], "qty": 1, "reason": "wrong size", "epcs": [second.lower()]}]
    answer = client.post(f"/api/v1/shipments/{world['shipment']}/handover", headers=world["picker"],
                         json={"pickup_code": code_of(client, ops, world), "refused": refused})
    assert answer.status_code == 200, answer.text
    states = tag_states(session, [first, second])
    assert states[second] == (TagState.IN_STOCK, world["store"], None)
    assert states[first][0] is TagState.SOLD and states[first][2] == world["shipment"]
    row = session.scalars(select(Handover).where(Handover.shipment_id == world["shipment"])).one()
    assert row.refused == [{"gtin": world["a"], "qty": 1, "damaged": False, "reason": "wrong size", "epcs": [second]}]
    # The same handover again (the EPC in another case) is a retry, not a second handover.
    again = client.post(f"/api/v1/shipments/{world['shipment']}/handover", headers=world["picker"],
                        json={"pickup_code": code_of(client, ops, world), "refused": [{**refused[0], "epcs": [second.upper()]}]})
    assert again.status_code == 200, again.text


@pytest.mark.parametrize("which", ["count", "foreign", "other_product", "twice"])
def test_named_refused_tags_must_be_the_parcels_and_as_many_as_the_units(
    client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session, which: str
) -> None:
    ready(client, world)
    a_tags, b_tag = sorted(world["tags"][world["a"]]), world["tags"][world["b"]][0]
    refused = {
        "count": [{"gtin": world["a"], "qty": 2, "reason": "x", "epcs": [a_tags[0]]}],
        "foreign": [{"gtin": world["a"], "qty": 1, "reason": "x", "epcs": ["30340242201D8840009EFE1F"]}],
        "other_product": [{"gtin": world["a"], "qty": 1, "reason": "x", "epcs": [b_tag]}],
        "twice": [{"gtin": world["a"], "qty": 1, "reason": "x", "epcs": [a_tags[0]]},
                  {"gtin": world["a"], "qty": 1, "damaged": True, "reason": "y", "epcs": [a_tags[0]]}],
    }[which]
    answer = client.post(f"/api/v1/shipments/{world['shipment']}/handover", headers=world["picker"],
                         json={"pickup_code": code_of(client, ops, world), "refused": refused})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "refused_tags_mismatch", answer.text
    # Nothing was handed over: the parcel still waits, its units still reserved, its tags still packed.
    assert client.get(f"/api/v1/shipments/{world['shipment']}", headers=ops).json()["status"] == "ready_for_pickup"
    assert level(client, ops, world["store"], world["a"]) == (5, 2, 3, 0)
    assert {s for s, _loc, _sid in tag_states(session, a_tags).values()} == {TagState.PACKED}

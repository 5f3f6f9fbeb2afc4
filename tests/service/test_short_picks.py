"""Partial short picks: the found units continue, the short ones are split off, booked by their reason (not found:
counted down and a cycle count raised; damaged: quarantined) and routed elsewhere, never back to the store for
that product of the order; exactly once per Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.models import LocationKind, ShortPick
from tests.service.flows import act, journal, level, order, pack_and_verify, place, shipment_at, stock_events, tasks


@pytest.fixture()
def world(make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None],
          auth: Callable[..., dict[str, str]]) -> dict[str, Any]:
    """A store beside the customers with 5 of each product, a far warehouse with 10, the store's picker."""
    store = make_location(kind=LocationKind.STORE, lat=45.0, lon=4.0, capacity_per_day=20, pick_cost_per_unit=0.5).id
    dc = make_location(kind=LocationKind.WAREHOUSE, lat=49.5, lon=4.0, capacity_per_day=100, pick_cost_per_unit=0.4).id
    other = make_location(kind=LocationKind.STORE, lat=48.85, lon=2.35, capacity_per_day=20).id
    g1, g2 = make_product().gtin, make_product().gtin
    for gtin in (g1, g2):
        stock_of(store, gtin, 5)
        stock_of(dc, gtin, 10)
    return {"store": store, "dc": dc, "other": other, "g1": g1, "g2": g2, "picker": auth("picker", store)}


@pytest.fixture()
def picking(client: TestClient, ops: dict[str, str], world: dict[str, Any]) -> dict[str, Any]:
    """A web order of 3 x g1 and 1 x g2, routed to the store, being picked there."""
    placed = place(client, ops, {world["g1"]: 3, world["g2"]: 1})
    shipment = shipment_at(placed, world["store"])["id"]
    act(client, world["picker"], shipment, "start")
    return {**world, "order": placed["id"], "shipment": shipment}


def short(client: TestClient, headers: dict[str, str], shipment_id: int, reason: str, lines: dict[str, int], key: str | None = "k-1") -> Any:
    body = {"reason": reason, "lines": [{"gtin": g, "qty": q} for g, q in lines.items()]}
    return client.post(f"/api/v1/shipments/{shipment_id}/short", headers=headers | ({"Idempotency-Key": key} if key else {}), json=body)


def test_units_not_found_are_counted_down_and_routed_elsewhere(
    client: TestClient, ops: dict[str, str], picking: dict[str, Any], session: Session
) -> None:
    w = picking
    answer = short(client, w["picker"], w["shipment"], "not_found", {w["g1"]: 1})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["reason"], result["short"], result["replayed"]) == ("not_found", [{"gtin": w["g1"], "qty": 1}], False)
    # The found units continue at the store.
    assert result["shipment"]["status"] == "picking"
    assert sorted((ln["gtin"], ln["qty"]) for ln in result["shipment"]["lines"]) == sorted([(w["g1"], 2), (w["g2"], 1)])
    # The short unit goes to the warehouse, and the store is not asked for it again.
    [new] = result["new_shipments"]
    assert (new["location_id"], new["status"], [(ln["gtin"], ln["qty"]) for ln in new["lines"]]) == (w["dc"], "assigned", [(w["g1"], 1)])
    assert result["rerouted"]["explanation"]["short_picked"] == [{"location_id": w["store"], "gtin": w["g1"]}]
    assert order(client, ops, w["order"])["status"] == "fulfilling"
    # Stock: the unit is not on the shelf (on-hand counted down with its reservation); the warehouse holds one.
    store = level(client, ops, w["store"], w["g1"])
    assert (store["on_hand"], store["reserved"], store["quarantined"]) == (4, 2, 0)
    assert level(client, ops, w["dc"], w["g1"])["reserved"] == 1
    [loss] = [e for e in stock_events(client, ops, w["order"]) if e["kind"] == "loss"]
    assert (loss["location_id"], loss["on_hand_delta"], loss["reserved_delta"], loss["reason"]) == (w["store"], -1, -1, "short pick: not found")
    # A cycle count of that product at the store, in its queue.
    [count] = tasks(client, w["picker"], w["store"], "cycle_count")
    assert (count["gtin"], count["shipment_id"], count["reason"]) == (w["g1"], w["shipment"], "short pick: not found")
    [event] = journal(session, w["order"], "shipment.short_picked")
    assert (event.location_id, event.data["lines"], event.data["cycle_count_task_ids"]) == (w["store"], [{"gtin": w["g1"], "qty": 1}], [count["task_id"]])
    rows = session.scalars(select(ShortPick).where(ShortPick.shipment_id == w["shipment"])).all()
    assert [(r.location_id, r.gtin, r.qty, r.reason.value) for r in rows] == [(w["store"], w["g1"], 1, "not_found")]


def test_damaged_units_go_to_quarantine(client: TestClient, ops: dict[str, str], picking: dict[str, Any]) -> None:
    w = picking
    act(client, w["picker"], w["shipment"], "picked")
    answer = short(client, w["picker"], w["shipment"], "damaged", {w["g1"]: 2})
    assert answer.status_code == 200, answer.text
    after = answer.json()["shipment"]
    assert after["status"] == "picked"
    assert sorted((ln["gtin"], ln["qty"], ln["picked_qty"]) for ln in after["lines"]) == sorted([(w["g1"], 1, 1), (w["g2"], 1, 1)])
    store = level(client, ops, w["store"], w["g1"])
    assert (store["on_hand"], store["reserved"], store["quarantined"], store["available"]) == (3, 1, 2, 2)
    [moved] = [e for e in stock_events(client, ops, w["order"]) if e["kind"] == "quarantine"]
    assert (moved["on_hand_delta"], moved["reserved_delta"], moved["quarantine_delta"], moved["reason"]) == (-2, -2, 2, "short pick: damaged")
    assert tasks(client, ops, w["store"], "cycle_count") == []
    assert [(s["location_id"], s["lines"][0]["qty"]) for s in answer.json()["new_shipments"]] == [(w["dc"], 2)]


def test_a_retried_short_pick_shorts_once(client: TestClient, ops: dict[str, str], picking: dict[str, Any], session: Session) -> None:
    w = picking
    first = short(client, w["picker"], w["shipment"], "not_found", {w["g1"]: 1}, key="scan-42")
    retry = short(client, w["picker"], w["shipment"], "not_found", {w["g1"]: 1}, key="scan-42")
    assert (first.status_code, retry.status_code) == (200, 200), retry.text
    assert retry.json()["replayed"] is True
    assert retry.json()["rerouted"] == first.json()["rerouted"]
    assert [s["id"] for s in retry.json()["new_shipments"]] == [s["id"] for s in first.json()["new_shipments"]]
    assert retry.json()["shipment"]["lines"] == first.json()["shipment"]["lines"]
    assert level(client, ops, w["store"], w["g1"])["on_hand"] == 4
    assert len([e for e in stock_events(client, ops, w["order"]) if e["kind"] == "loss"]) == 1
    assert len(session.scalars(select(ShortPick).where(ShortPick.shipment_id == w["shipment"])).all()) == 1
    other = short(client, w["picker"], w["shipment"], "damaged", {w["g1"]: 1}, key="scan-42")
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict", other.text
    # Another key is another short: the next unit of g1 is not found either.
    assert short(client, w["picker"], w["shipment"], "not_found", {w["g1"]: 1}, key="scan-43").json()["replayed"] is False
    assert level(client, ops, w["store"], w["g1"])["on_hand"] == 3


def test_the_key_is_required(client: TestClient, ops: dict[str, str], picking: dict[str, Any]) -> None:
    answer = short(client, picking["picker"], picking["shipment"], "not_found", {picking["g1"]: 1}, key=None)
    assert answer.status_code == 422, answer.text
    assert [d["field"] for d in answer.json()["error"]["details"]] == ["header.Idempotency-Key"]
    assert level(client, ops, picking["store"], picking["g1"])["on_hand"] == 5


def test_more_units_than_the_shipment_carries_are_refused(client: TestClient, ops: dict[str, str], picking: dict[str, Any],
                                                          make_product: Callable[..., Any]) -> None:
    w = picking
    stranger = make_product().gtin
    answer = short(client, w["picker"], w["shipment"], "not_found", {w["g1"]: 1, w["g2"]: 2, stranger: 1})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "exceeds_shipment", answer.text
    assert answer.json()["error"]["details"] == [
        {"gtin": w["g2"], "requested": 2, "on_shipment": 1}, {"gtin": stranger, "requested": 1, "on_shipment": 0},
    ]
    assert level(client, ops, w["store"], w["g1"])["on_hand"] == 5  # all or nothing
    assert order(client, ops, w["order"])["shipments"][0]["lines"][0]["qty"] == 3
    # Refused, the key was not used: the same key may carry the corrected short.
    assert short(client, w["picker"], w["shipment"], "not_found", {w["g2"]: 1}).status_code == 200


def test_nothing_found_rejects_the_shipment(client: TestClient, ops: dict[str, str], picking: dict[str, Any]) -> None:
    w = picking
    answer = short(client, w["picker"], w["shipment"], "not_found", {w["g1"]: 3, w["g2"]: 1})
    assert answer.status_code == 200, answer.text
    after = answer.json()["shipment"]
    assert (after["status"], after["lines"]) == ("rejected", [])
    assert after["rejection_reason"].startswith("short pick (not_found)")
    assert [(s["location_id"], sorted((ln["gtin"], ln["qty"]) for ln in s["lines"])) for s in answer.json()["new_shipments"]] == [
        (w["dc"], sorted([(w["g1"], 3), (w["g2"], 1)]))
    ]
    store = level(client, ops, w["store"], w["g1"])
    assert (store["on_hand"], store["reserved"]) == (2, 0)
    assert {t["gtin"] for t in tasks(client, ops, w["store"], "cycle_count")} == {w["g1"], w["g2"]}


def test_a_packed_shipment_is_packed_again_and_a_verified_one_cannot_be_shorted(
    client: TestClient, ops: dict[str, str], picking: dict[str, Any], session: Session
) -> None:
    w = picking
    act(client, w["picker"], w["shipment"], "picked")
    act(client, w["picker"], w["shipment"], "pack", station="pack-station-1")
    answer = short(client, w["picker"], w["shipment"], "damaged", {w["g2"]: 1})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["shipment"]["status"], [p["status"] for p in answer.json()["shipment"]["parcels"]]) == ("picked", ["open"])
    pack_and_verify(client, w["picker"], session, w["store"], w["shipment"], {w["g1"]: 3})
    late = short(client, w["picker"], w["shipment"], "damaged", {w["g1"]: 1}, key="k-2")
    assert late.status_code == 409 and late.json()["error"]["code"] == "invalid_transition", late.text
    assert late.json()["error"]["details"]["allowed"] == ["picking", "picked", "packed"]


def test_an_unstarted_shipment_cannot_be_shorted_and_another_store_cannot_see_it(
    client: TestClient, ops: dict[str, str], world: dict[str, Any], auth: Callable[..., dict[str, str]]
) -> None:
    placed = place(client, ops, {world["g1"]: 1})
    shipment = shipment_at(placed, world["store"])["id"]
    answer = short(client, world["picker"], shipment, "not_found", {world["g1"]: 1})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "invalid_transition", answer.text
    act(client, world["picker"], shipment, "start")
    hidden = short(client, auth("picker", world["other"]), shipment, "not_found", {world["g1"]: 1})
    assert hidden.status_code == 404, hidden.text
    assert short(client, ops, shipment, "not_found", {world["g1"]: 1}).status_code == 200  # ops may


def test_the_product_never_goes_back_to_the_store_that_shorted_it_but_others_may(
    client: TestClient, ops: dict[str, str], make_location: Callable[..., Any], make_product: Callable[..., Any],
    stock_of: Callable[..., None], auth: Callable[..., dict[str, str]],
) -> None:
    """The store short-picks g1 of an order; it still holds g1 and is the cheapest place, yet the order's g1 goes
    elsewhere, while the order's g2 may come from it, and another order's g1 too."""
    store = make_location(kind=LocationKind.STORE, lat=45.0, lon=4.0, capacity_per_day=20, pick_cost_per_unit=0.5).id
    dc = make_location(kind=LocationKind.WAREHOUSE, lat=49.5, lon=4.0, capacity_per_day=100, pick_cost_per_unit=0.4).id
    far = make_location(kind=LocationKind.WAREHOUSE, lat=49.5, lon=1.0, capacity_per_day=100, pick_cost_per_unit=0.4).id
    g1, g2 = make_product().gtin, make_product().gtin
    stock_of(store, g1, 10)
    stock_of(far, g1, 10)
    stock_of(dc, g2, 10)
    placed = place(client, ops, {g1: 2, g2: 1})
    picker = auth("picker", store)
    at_store, at_dc = shipment_at(placed, store), shipment_at(placed, dc)  # g1 from the store, g2 from the only place it is
    assert ([ln["gtin"] for ln in at_store["lines"]], [ln["gtin"] for ln in at_dc["lines"]]) == ([g1], [g2])
    act(client, picker, at_store["id"], "start")
    stock_of(store, g2, 10)  # g2 arrives at the store

    answer = short(client, picker, at_store["id"], "not_found", {g1: 1})
    assert answer.status_code == 200, answer.text
    after = order(client, ops, placed["id"])
    live = {(s["location_id"], ln["gtin"]): ln["qty"] for s in after["shipments"] if s["status"] in ("assigned", "picking") for ln in s["lines"]}
    # g1's short unit from the far warehouse; g2, re-decided with it (still unstarted), now comes from the store.
    assert live == {(store, g1): 1, (far, g1): 1, (store, g2): 1}, after["shipments"]
    assert next(s for s in after["shipments"] if s["id"] == at_dc["id"])["status"] == "superseded"
    # The batch re-optimisation would bring g1 back to the cheaper store: that move is not made.
    run = client.post("/api/v1/routing/runs", headers=ops, json={"time_limit_seconds": 2})
    assert run.status_code == 201 and run.json()["details"]["moves_skipped"] == 1, run.text
    assert {(s["location_id"], ln["gtin"]): ln["qty"] for s in order(client, ops, placed["id"])["shipments"]
            if s["status"] in ("assigned", "picking") for ln in s["lines"]} == live
    # Another order's g1 comes from the store as before.
    assert {s["location_id"] for s in place(client, ops, {g1: 1})["shipments"]} == {store}
    # Ops forcing the order to the store cannot bring g1 back there: the unit stays unfilled rather than go back.
    forced = client.post(f"/api/v1/orders/{placed['id']}/reroute", headers=ops, json={"location_id": store})
    assert forced.status_code == 200, forced.text
    assert forced.json()["explanation"]["unfilled"] == {g1: 1}


def test_a_count_closes_the_cycle_count(client: TestClient, ops: dict[str, str], picking: dict[str, Any], session: Session) -> None:
    w = picking
    assert short(client, w["picker"], w["shipment"], "not_found", {w["g1"]: 1, w["g2"]: 1}).status_code == 200
    counts = {t["gtin"]: t["task_id"] for t in tasks(client, ops, w["store"], "cycle_count")}
    assert set(counts) == {w["g1"], w["g2"]}
    # A delta that is no count leaves it open; a count (set_on_hand) closes it.
    assert client.post("/api/v1/stock/adjustments", headers=ops, json={"location_id": w["store"], "gtin": w["g1"], "delta": 1, "reason": "receipt"}).status_code == 201
    assert set(t["gtin"] for t in tasks(client, ops, w["store"], "cycle_count")) == {w["g1"], w["g2"]}
    counted = client.post("/api/v1/stock/adjustments", headers=ops, json={"location_id": w["store"], "gtin": w["g1"], "set_on_hand": 4, "reason": "count"})
    assert counted.status_code == 201, counted.text
    assert [t["gtin"] for t in tasks(client, ops, w["store"], "cycle_count")] == [w["g2"]]
    [done] = [e for e in journal(session, w["order"], "task.done")]
    assert done.data["task_id"] == counts[w["g1"]]
    # The other count is confirmed by the store.
    confirmed = client.post(f"/api/v1/stores/{w['store']}/tasks/{counts[w['g2']]}/done", headers=w["picker"])
    assert confirmed.status_code == 200 and confirmed.json()["done_by"], confirmed.text
    assert tasks(client, ops, w["store"], "cycle_count") == []
    assert level(client, ops, w["store"], w["g2"])["on_hand"] == 4  # confirming a count moves no stock


def test_the_store_records_its_cycle_count_with_what_it_counted(client: TestClient, ops: dict[str, str], picking: dict[str, Any]) -> None:
    w = picking
    assert short(client, w["picker"], w["shipment"], "not_found", {w["g1"]: 1}).status_code == 200
    [count] = tasks(client, ops, w["store"], "cycle_count")
    before = level(client, ops, w["store"], w["g1"])
    url = f"/api/v1/stores/{w['store']}/tasks/{count['task_id']}/done"
    too_few = client.post(url, headers=w["picker"], json={"counted": before["reserved"] - 1}) if before["reserved"] else None
    if too_few is not None:  # fewer than what orders hold there cannot be counted: nothing changes
        assert too_few.status_code == 409 and tasks(client, ops, w["store"], "cycle_count") != []
    done = client.post(url, headers=w["picker"], json={"counted": before["reserved"] + 2})
    assert done.status_code == 200 and done.json()["status"] == "done", done.text
    after = level(client, ops, w["store"], w["g1"])
    assert after["on_hand"] == before["reserved"] + 2 and after["reserved"] == before["reserved"]
    again = client.post(url, headers=w["picker"], json={"counted": 99})  # a retried tap: done already, nothing moves
    assert again.status_code == 200 and level(client, ops, w["store"], w["g1"])["on_hand"] == after["on_hand"]
    events = client.get("/api/v1/stock/events", headers=ops, params={"location_id": w["store"], "gtin": w["g1"]}).json()
    assert sum(1 for e in events if e.get("reason") == "count") == 1
    put_back = client.post(f"/api/v1/stores/{w['store']}/tasks/{count['task_id']}/done", headers=w["picker"], json={"counted": -1})
    assert put_back.status_code == 422

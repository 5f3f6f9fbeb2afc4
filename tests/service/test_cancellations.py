"""Cancelling an order, whole or some of its units: what has not started is released at once, what is being picked or
packed becomes a put-back task released when the store confirms it, what has left cannot be cancelled; every
cancellation is journalled with what was cancelled and why, and a retry never cancels twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.models import LocationKind, RfidTag, Shipment, ShipmentStatus, TagState
from fulfil.shipments.states import advance
from rfid.epc import encode_sgtin96
from tests.service.flows import act, journal, level, order, pack_and_verify, place, shipment_at, stock_events, tasks
from tests.service.test_live_stream import read_events
from tests.factories import error_of


@pytest.fixture()
def world(make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None],
          auth: Callable[..., dict[str, str]]) -> dict[str, Any]:
    """A store beside the customers with 5 of each product, a far warehouse with 10, pickers of the store and of another."""
    store = make_location(kind=LocationKind.STORE, lat=45.0, lon=4.0, capacity_per_day=20, pick_cost_per_unit=0.5).id
    dc = make_location(kind=LocationKind.WAREHOUSE, lat=49.5, lon=4.0, capacity_per_day=100, pick_cost_per_unit=0.4).id
    other = make_location(kind=LocationKind.STORE, lat=48.85, lon=2.35).id
    g1, g2 = make_product().gtin, make_product().gtin
    for gtin in (g1, g2):
        stock_of(store, gtin, 5)
        stock_of(dc, gtin, 10)
    return {"store": store, "dc": dc, "other": other, "g1": g1, "g2": g2, "picker": auth("picker", store), "stranger": auth("picker", other)}


def cancel(client: TestClient, headers: dict[str, str], order_id: int, reason: str = "customer changed their mind",
           lines: dict[str, int] | None = None, key: str | None = None) -> Any:
    body: dict[str, Any] = {"reason": reason}
    if lines is not None:
        body["lines"] = [{"gtin": g, "qty": q} for g, q in lines.items()]
    return client.post(f"/api/v1/orders/{order_id}/cancel", headers=headers | ({"Idempotency-Key": key} if key else {}), json=body)


def test_a_whole_order_not_started_is_released_at_once_and_journalled(
    client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session
) -> None:
    placed = place(client, ops, {world["g1"]: 3, world["g2"]: 1})
    shipment = shipment_at(placed, world["store"])
    assert level(client, ops, world["store"], world["g1"])["reserved"] == 3

    answer = cancel(client, ops, placed["id"], reason="paid twice")
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["whole"], result["replayed"], result["put_back_task_ids"]) == (True, False, [])
    assert sorted((c["gtin"], c["qty"]) for c in result["cancelled"]) == sorted([(world["g1"], 3), (world["g2"], 1)])
    cancelled = result["order"]
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "paid twice") and cancelled["cancelled_at"]
    assert [(ln["qty"], ln["cancelled_qty"]) for ln in cancelled["lines"]] == [(3, 3), (1, 1)]
    assert [s["status"] for s in cancelled["shipments"]] == ["cancelled"]
    for gtin in (world["g1"], world["g2"]):
        assert (level(client, ops, world["store"], gtin)["reserved"], level(client, ops, world["store"], gtin)["available"]) == (0, 5)
    releases = [e for e in stock_events(client, ops, placed["id"]) if e["kind"] == "release"]
    assert {(e["gtin"], e["reserved_delta"], e["shipment_id"]) for e in releases} == {(world["g1"], -3, shipment["id"]), (world["g2"], -1, shipment["id"])}

    # The customer learns of it: an event with no location (their notices) and one at the store that serves it.
    notices = journal(session, placed["id"], "order.cancellation")
    assert {e.location_id for e in notices} == {None, world["store"]}
    data = next(e.data for e in notices if e.location_id is None)
    assert (data["whole"], data["reason"], data["external_id"]) == (True, "paid twice", placed["external_id"])
    assert sorted((ln["gtin"], ln["qty"]) for ln in data["lines"]) == sorted([(world["g1"], 3), (world["g2"], 1)])
    assert [e.location_id for e in journal(session, placed["id"], "order.cancelled")] == [None]


def test_a_whole_order_cancelled_again_changes_nothing(client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session) -> None:
    placed = place(client, ops, {world["g1"]: 2})
    first = cancel(client, ops, placed["id"])
    assert first.status_code == 200, first.text
    events, notices = stock_events(client, ops, placed["id"]), journal(session, placed["id"])
    again = cancel(client, ops, placed["id"], reason="clicked twice")
    assert again.status_code == 200, again.text
    assert (again.json()["replayed"], again.json()["cancelled"], again.json()["cancellation_id"]) == (True, [], None)
    assert again.json()["order"] == {**first.json()["order"], "updated_at": again.json()["order"]["updated_at"]}
    assert again.json()["order"]["cancel_reason"] == "customer changed their mind"
    assert stock_events(client, ops, placed["id"]) == events
    assert len(journal(session, placed["id"])) == len(notices)


def test_a_started_shipment_becomes_a_put_back_released_when_confirmed(
    client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session
) -> None:
    placed = place(client, world["picker"], {world["g1"]: 3}, store=world["store"])
    shipment = shipment_at(placed, world["store"])
    act(client, world["picker"], shipment["id"], "start")

    answer = cancel(client, world["picker"], placed["id"], reason="customer left the shop")
    assert answer.status_code == 200, answer.text
    [task_id] = answer.json()["put_back_task_ids"]
    assert answer.json()["cancelled"] == [{"gtin": world["g1"], "qty": 3, "put_back_task_ids": [task_id]}]
    assert [s["status"] for s in answer.json()["order"]["shipments"]] == ["cancelled"]
    # The units are in the picker's basket: still reserved, held by the task the store sees in its queue.
    assert level(client, ops, world["store"], world["g1"])["reserved"] == 3
    [task] = tasks(client, world["picker"], world["store"], "put_back")
    assert (task["task_id"], task["gtin"], task["qty"], task["shipment_id"]) == (task_id, world["g1"], 3, shipment["id"])

    done = client.post(f"/api/v1/stores/{world['store']}/tasks/{task_id}/done", headers=world["picker"])
    assert done.status_code == 200 and done.json()["status"] == "done", done.text
    assert (level(client, ops, world["store"], world["g1"])["reserved"], level(client, ops, world["store"], world["g1"])["available"]) == (0, 5)
    assert tasks(client, world["picker"], world["store"], "put_back") == []
    again = client.post(f"/api/v1/stores/{world['store']}/tasks/{task_id}/done", headers=world["picker"])
    assert again.status_code == 200 and level(client, ops, world["store"], world["g1"])["reserved"] == 0
    assert [e.data["task_id"] for e in journal(session, placed["id"], "task.done")] == [task_id]


def test_what_has_left_cannot_be_cancelled(client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session) -> None:
    placed = place(client, ops, {world["g1"]: 2})
    shipment = shipment_at(placed, world["store"])["id"]
    act(client, world["picker"], shipment, "start")
    act(client, world["picker"], shipment, "picked")
    pack_and_verify(client, world["picker"], session, world["store"], shipment, {world["g1"]: 2})
    act(client, world["picker"], shipment, "ship")

    whole = cancel(client, ops, placed["id"])
    assert whole.status_code == 409 and whole.json()["error"]["code"] == "already_left", whole.text
    some = cancel(client, ops, placed["id"], lines={world["g1"]: 1}, key="late-1")
    assert some.status_code == 409 and some.json()["error"]["code"] == "already_left", some.text
    assert some.json()["error"]["details"] == [
        {"gtin": world["g1"], "requested": 1, "ordered": 2, "cancelled": 0, "left": 2, "cancellable": 0}
    ]
    assert order(client, ops, placed["id"])["status"] == "shipped"
    assert journal(session, placed["id"], "order.cancellation") == []


def test_units_are_taken_from_the_unrouted_then_the_unstarted_then_the_started(
    client: TestClient, ops: dict[str, str], world: dict[str, Any], make_product: Callable[..., Any], stock_of: Callable[..., None],
    session: Session,
) -> None:
    """6 ordered: 2 at the store (being picked), 2 at the warehouse (not started), 2 nowhere (no stock left)."""
    gtin = make_product().gtin
    stock_of(world["store"], gtin, 2)
    stock_of(world["dc"], gtin, 2)
    placed = place(client, ops, {gtin: 6})
    assert placed["status"] == "partially_routed"
    at_store, at_dc = shipment_at(placed, world["store"]), shipment_at(placed, world["dc"])
    act(client, world["picker"], at_store["id"], "start")

    answer = cancel(client, ops, placed["id"], reason="two were enough", lines={gtin: 5}, key="cut-5")
    assert answer.status_code == 200, answer.text
    [put_back] = answer.json()["put_back_task_ids"]
    assert answer.json()["cancelled"] == [{"gtin": gtin, "qty": 5, "put_back_task_ids": [put_back]}]
    after = answer.json()["order"]
    assert [(ln["qty"], ln["cancelled_qty"]) for ln in after["lines"]] == [(6, 5)]
    assert after["status"] == "fulfilling" and after["cancel_reason"] is None
    by_id = {s["id"]: s for s in after["shipments"]}
    assert (by_id[at_dc["id"]]["status"], by_id[at_dc["id"]]["lines"]) == ("cancelled", [])
    assert (by_id[at_store["id"]]["status"], [(ln["qty"], ln["picked_qty"]) for ln in by_id[at_store["id"]]["lines"]]) == ("picking", [(1, 0)])
    assert level(client, ops, world["dc"], gtin)["reserved"] == 0  # released at once
    assert level(client, ops, world["store"], gtin)["reserved"] == 2  # one still to pick, one held by the put back
    [task] = tasks(client, ops, world["store"], "put_back")
    assert (task["task_id"], task["qty"]) == (put_back, 1)
    [notice] = [e for e in journal(session, placed["id"], "order.cancellation") if e.location_id is None]
    assert (notice.data["whole"], notice.data["lines"]) == (False, [{"gtin": gtin, "qty": 5, "put_back_task_ids": [put_back]}])
    assert {e.location_id for e in journal(session, placed["id"], "order.cancellation")} == {None, world["store"], world["dc"]}


def test_a_verified_parcel_losing_units_is_packed_again(
    client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session
) -> None:
    placed = place(client, ops, {world["g1"]: 3, world["g2"]: 1})
    shipment = shipment_at(placed, world["store"])["id"]
    epcs = {world["g1"]: [encode_sgtin96(world["g1"], 1000 + i, 7) for i in range(3)], world["g2"]: [encode_sgtin96(world["g2"], 1000, 7)]}
    for gtin, tags in epcs.items():
        session.add_all(RfidTag(epc=epc, gtin=gtin, location_id=world["store"], state=TagState.IN_STOCK) for epc in tags)
    session.commit()
    act(client, world["picker"], shipment, "start")
    act(client, world["picker"], shipment, "picked")
    pack_and_verify(client, world["picker"], session, world["store"], shipment, {world["g1"]: 3, world["g2"]: 1})
    assert order(client, ops, placed["id"])["shipments"][0]["status"] == "verified"
    assert tag_states(session, epcs) == {epc: (TagState.PACKED, shipment) for tags in epcs.values() for epc in tags}

    answer = cancel(client, ops, placed["id"], lines={world["g1"]: 1}, key="one-less")
    assert answer.status_code == 200, answer.text
    [after] = answer.json()["order"]["shipments"]
    assert after["status"] == "picked"  # the verdict no longer matches: pack and verify it again
    assert sorted((ln["gtin"], ln["qty"], ln["picked_qty"]) for ln in after["lines"]) == sorted([(world["g1"], 2, 2), (world["g2"], 1, 1)])
    assert [p["status"] for p in after["parcels"]] == ["open"]
    assert tag_states(session, epcs) == {epc: (TagState.IN_STOCK, None) for tags in epcs.values() for epc in tags}
    assert level(client, ops, world["store"], world["g1"])["reserved"] == 3  # 2 in the parcel, 1 held by the put back
    assert [t["qty"] for t in tasks(client, ops, world["store"], "put_back")] == [1]
    assert journal(session, placed["id"], "shipment.picked")[-1].data["previous"] == "verified"

    # Packed again with what is left (one g1 tag went back to the shelf), it is verified and ships.
    packed_again = {world["g1"]: epcs[world["g1"]][:2], world["g2"]: epcs[world["g2"]]}
    pack_and_verify(client, world["picker"], session, world["store"], shipment, {g: len(t) for g, t in packed_again.items()}, epcs=packed_again)
    shipped = act(client, world["picker"], shipment, "ship")
    assert [p["status"] for p in shipped["parcels"]] == ["open", "shipped"]  # the parcel opened again never left
    assert order(client, ops, placed["id"])["status"] == "shipped"
    assert level(client, ops, world["store"], world["g1"])["on_hand"] == 3  # 5 less the 2 shipped
    states = tag_states(session, epcs)
    assert states[epcs[world["g1"]][2]] == (TagState.IN_STOCK, None)
    assert {states[e] for e in packed_again[world["g1"]] + packed_again[world["g2"]]} == {(TagState.SHIPPED, shipment)}


def tag_states(session: Session, epcs: dict[str, list[str]]) -> dict[str, tuple[TagState, int | None]]:
    session.expire_all()
    return {t.epc: (t.state, t.shipment_id) for t in session.scalars(select(RfidTag).where(RfidTag.epc.in_([e for v in epcs.values() for e in v])))}


def test_lines_need_an_idempotency_key(client: TestClient, ops: dict[str, str], world: dict[str, Any]) -> None:
    placed = place(client, ops, {world["g1"]: 2})
    answer = cancel(client, ops, placed["id"], lines={world["g1"]: 1})
    assert answer.status_code == 428, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "header.Idempotency-Key"
    assert order(client, ops, placed["id"])["lines"][0]["cancelled_qty"] == 0
    assert level(client, ops, world["store"], world["g1"])["reserved"] == 2


def test_a_retry_with_the_same_key_cancels_once_and_another_body_is_a_conflict(
    client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session
) -> None:
    placed = place(client, ops, {world["g1"]: 3})
    first = cancel(client, ops, placed["id"], lines={world["g1"]: 1}, key="k-1")
    retry = cancel(client, ops, placed["id"], lines={world["g1"]: 1}, key="k-1")
    assert (first.status_code, retry.status_code) == (200, 200), retry.text
    assert (first.json()["replayed"], retry.json()["replayed"]) == (False, True)
    assert retry.json()["cancelled"] == first.json()["cancelled"] == [{"gtin": world["g1"], "qty": 1, "put_back_task_ids": []}]
    assert retry.json()["cancellation_id"] == first.json()["cancellation_id"]
    assert order(client, ops, placed["id"])["lines"][0]["cancelled_qty"] == 1
    assert level(client, ops, world["store"], world["g1"])["reserved"] == 2
    assert len(journal(session, placed["id"], "order.cancellation")) == 2  # the store's and the customer's, once

    other = cancel(client, ops, placed["id"], lines={world["g1"]: 2}, key="k-1")
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict", other.text
    whole_with_it = cancel(client, ops, placed["id"], key="k-1")
    assert whole_with_it.status_code == 409 and whole_with_it.json()["error"]["code"] == "idempotency_conflict"
    # A new key is a new cancellation; the same key on another order is another order's business.
    assert cancel(client, ops, placed["id"], lines={world["g1"]: 1}, key="k-2").json()["cancelled"][0]["qty"] == 1
    second = place(client, ops, {world["g2"]: 1})
    assert cancel(client, ops, second["id"], lines={world["g2"]: 1}, key="k-1").json()["replayed"] is False


def test_more_than_can_be_cancelled_is_refused_whole(client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session) -> None:
    placed = place(client, ops, {world["g1"]: 3, world["g2"]: 2})
    answer = cancel(client, ops, placed["id"], lines={world["g1"]: 1, world["g2"]: 3}, key="too-many")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "too_many_units", answer.text
    assert answer.json()["error"]["details"] == [{"gtin": world["g2"], "requested": 3, "ordered": 2, "cancelled": 0, "left": 0, "cancellable": 2}]
    assert [ln["cancelled_qty"] for ln in order(client, ops, placed["id"])["lines"]] == [0, 0]
    assert level(client, ops, world["store"], world["g1"])["reserved"] == 3
    not_ordered = cancel(client, ops, placed["id"], lines={world["g1"]: 1}, key="too-many")  # nothing was kept under the key
    assert not_ordered.status_code == 200, not_ordered.text
    stranger = place(client, ops, {world["g2"]: 1})
    answer = cancel(client, ops, stranger["id"], lines={world["g1"]: 1}, key="nope")
    assert answer.status_code == 409 and answer.json()["error"]["details"][0]["ordered"] == 0
    assert journal(session, stranger["id"], "order.cancellation") == []


def test_cancelling_every_unit_by_lines_cancels_the_order(client: TestClient, ops: dict[str, str], world: dict[str, Any]) -> None:
    placed = place(client, ops, {world["g1"]: 2, world["g2"]: 1})
    assert cancel(client, ops, placed["id"], lines={world["g1"]: 2}, key="a").json()["order"]["status"] == "routed"
    last = cancel(client, ops, placed["id"], reason="nothing wanted any more", lines={world["g2"]: 1}, key="b").json()["order"]
    assert (last["status"], last["cancel_reason"]) == ("cancelled", "nothing wanted any more")
    assert [s["status"] for s in last["shipments"]] == ["cancelled"] and last["shipments"][0]["lines"] == []
    assert level(client, ops, world["store"], world["g2"])["reserved"] == 0


def test_an_unroutable_order_is_cancelled_too(client: TestClient, ops: dict[str, str], make_product: Callable[..., Any]) -> None:
    placed = place(client, ops, {make_product().gtin: 1})
    assert placed["status"] == "unfillable"
    answer = cancel(client, ops, placed["id"])
    assert answer.status_code == 200 and answer.json()["order"]["status"] == "cancelled", answer.text


def test_who_may_cancel(client: TestClient, ops: dict[str, str], world: dict[str, Any]) -> None:
    """A picker cancels the store orders its store took; an order it serves but did not take is forbidden; another
    store's order is missing to it."""
    mine = place(client, world["picker"], {world["g1"]: 1}, store=world["store"])
    served = place(client, ops, {world["g1"]: 1})
    theirs = place(client, ops, {world["g2"]: 1}, store=world["other"])
    assert client.get(f"/api/v1/orders/{served['id']}", headers=world["picker"]).status_code == 200
    refused = cancel(client, world["picker"], served["id"])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden", refused.text
    hidden = cancel(client, world["picker"], theirs["id"])
    assert hidden.status_code == 404, hidden.text
    assert error_of(hidden)["error"] == {"code": "not_found", "message": f"order {theirs['id']} not found", "details": {"order_id": theirs["id"]}}
    assert cancel(client, world["stranger"], mine["id"]).status_code == 404
    assert cancel(client, world["picker"], mine["id"]).status_code == 200
    assert cancel(client, ops, served["id"]).status_code == 200
    assert cancel(client, ops, 2_000_000_000).status_code == 404


def test_a_partly_shipped_order_cancels_what_has_not_left(
    client: TestClient, ops: dict[str, str], world: dict[str, Any], make_product: Callable[..., Any], stock_of: Callable[..., None],
    session: Session,
) -> None:
    gtin = make_product().gtin
    stock_of(world["store"], gtin, 2)
    stock_of(world["dc"], gtin, 2)
    placed = place(client, ops, {gtin: 4})
    at_store, at_dc = shipment_at(placed, world["store"])["id"], shipment_at(placed, world["dc"])["id"]
    act(client, world["picker"], at_store, "start")
    act(client, world["picker"], at_store, "picked")
    pack_and_verify(client, world["picker"], session, world["store"], at_store, {gtin: 2})
    act(client, world["picker"], at_store, "ship")

    answer = cancel(client, ops, placed["id"], reason="the rest is too late")
    assert answer.status_code == 200, answer.text
    after = answer.json()["order"]
    assert answer.json()["cancelled"] == [{"gtin": gtin, "qty": 2, "put_back_task_ids": []}]
    assert (after["status"], after["cancel_reason"], after["lines"][0]["cancelled_qty"]) == ("shipped", None, 2)
    assert {s["id"]: s["status"] for s in after["shipments"]} == {at_store: "shipped", at_dc: "cancelled"}
    assert level(client, ops, world["dc"], gtin)["reserved"] == 0
    assert cancel(client, ops, placed["id"]).json()["replayed"] is True  # nothing left to cancel: unchanged
    late = cancel(client, ops, placed["id"], lines={gtin: 1}, key="late")
    assert late.status_code == 409 and late.json()["error"]["code"] == "already_left", late.text


def test_units_waiting_at_the_pickup_store_are_put_back_there(
    client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session
) -> None:
    """A click-and-collect parcel ready for the customer: the units taken out of the bag are put back by that store."""
    placed = place(client, world["picker"], {world["g1"]: 3}, store=world["store"])
    shipment = shipment_at(placed, world["store"])["id"]
    act(client, world["picker"], shipment, "start")
    act(client, world["picker"], shipment, "picked")
    pack_and_verify(client, world["picker"], session, world["store"], shipment, {world["g1"]: 3})
    ready = session.get(Shipment, shipment)
    assert ready is not None
    advance(ready, ShipmentStatus.READY_FOR_PICKUP)  # what the click-and-collect flow does once the parcel is staged
    session.commit()

    some = cancel(client, world["picker"], placed["id"], lines={world["g1"]: 1}, key="bag-1")
    assert some.status_code == 200, some.text
    [after] = some.json()["order"]["shipments"]
    assert (after["status"], after["lines"][0]["qty"]) == ("ready_for_pickup", 2)
    assert [(t["location_id"], t["qty"]) for t in tasks(client, ops, world["store"], "put_back")] == [(world["store"], 1)]
    whole = cancel(client, world["picker"], placed["id"], reason="never came")
    assert whole.status_code == 200, whole.text
    assert (whole.json()["order"]["status"], whole.json()["order"]["shipments"][0]["status"]) == ("cancelled", "cancelled")
    assert sorted(t["qty"] for t in tasks(client, ops, world["store"], "put_back")) == [1, 2]
    assert level(client, ops, world["store"], world["g1"])["reserved"] == 3


def test_the_store_hears_of_it_on_its_live_stream(client: TestClient, ops: dict[str, str], world: dict[str, Any]) -> None:
    placed = place(client, world["picker"], {world["g1"]: 2}, store=world["store"])
    act(client, world["picker"], shipment_at(placed, world["store"])["id"], "start")
    assert cancel(client, world["picker"], placed["id"], reason="wrong size").status_code == 200
    events = read_events(client, f"/api/v1/locations/{world['store']}/stream?from_start=true&max_seconds=0.3", world["picker"])
    business = [(e["event"], e["data"]["kind"]) for e in events if e["event"] in ("order", "task", "shipment")]
    assert ("order", "order.cancellation") in business and ("task", "task.opened") in business, business
    assert ("shipment", "shipment.cancelled") in business and ("order", "order.cancelled") in business
    [notice] = [e["data"] for e in events if e["event"] == "order" and e["data"]["kind"] == "order.cancellation"]
    assert (notice["order_id"], notice["data"]["reason"], notice["data"]["lines"][0]["qty"]) == (placed["id"], "wrong size", 2)

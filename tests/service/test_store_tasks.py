"""A store's task queue: picks derived from its shipments, put backs that hold their units until confirmed, cycle
counts; and the business events that tell the store's page when the queue changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.models import DomainEvent, LocationKind, StockEvent, StoreTask, TaskStatus
from fulfil.orders.cancel import cancel_order
from fulfil.routing_runs import repository as routing_repository
from fulfil.stock.invariant import check
from fulfil.tasks import service as tasks
from tests.service.test_live_stream import read_events


@pytest.fixture()
def store_order(
    client: TestClient, ops: dict[str, str], auth: Callable[..., dict[str, str]], make_location: Callable[..., Any],
    make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> dict[str, Any]:
    """A click-and-collect order of 3 units served by the pickup store itself."""
    store = make_location(kind=LocationKind.STORE, lat=45.0, lon=4.0, capacity_per_day=10).id
    gtin = make_product().gtin
    stock_of(store, gtin, 5)
    order = client.post("/api/v1/orders", headers=ops, json={
        "external_id": f"TASKS-{store}", "channel": "web", "pickup_location_id": store, "lines": [{"gtin": gtin, "qty": 3}],
    }).json()
    return {"store": store, "gtin": gtin, "order": order["id"], "shipment": order["shipments"][0]["id"], "picker": auth("picker", store)}


def level(client: TestClient, ops: dict[str, str], loc: str, gtin: str) -> dict[str, Any]:
    return client.get(f"/api/v1/stock/{loc}/{gtin}", headers=ops).json()


def test_a_routed_shipment_is_a_pick_task_of_its_store_until_packed(client: TestClient, store_order: dict[str, Any]) -> None:
    url = f"/api/v1/stores/{store_order['store']}/tasks"
    queue = client.get(url, headers=store_order["picker"]).json()
    assert [(t["kind"], t["ref"], t["task_id"]) for t in queue] == [("pick", f"shipment:{store_order['shipment']}", None)]
    assert queue[0]["detail"] == {"shipment_status": "assigned", "click_and_collect": True, "claimed_by": None}
    assert client.post(f"/api/v1/shipments/{store_order['shipment']}/start", headers=store_order["picker"]).status_code == 200
    assert client.get(url, headers=store_order["picker"]).json()[0]["detail"]["shipment_status"] == "picking"
    # Only the kinds asked for.
    assert client.get(url + "?kind=put_back&kind=cycle_count", headers=store_order["picker"]).json() == []


def test_another_store_and_an_unknown_store(
    client: TestClient, ops: dict[str, str], store_order: dict[str, Any], auth: Callable[..., dict[str, str]], make_location: Callable[..., Any]
) -> None:
    other = auth("picker", make_location().id)
    assert client.get(f"/api/v1/stores/{store_order['store']}/tasks", headers=other).status_code == 403
    assert client.get("/api/v1/stores/NOPE/tasks", headers=ops).status_code == 404
    assert client.get(f"/api/v1/stores/{store_order['store']}/tasks?kind=sweep", headers=ops).status_code == 422


def test_a_started_shipment_cancelled_becomes_a_put_back_that_holds_its_units_until_confirmed(
    client: TestClient, ops: dict[str, str], store_order: dict[str, Any], session: Session
) -> None:
    store, gtin, picker = store_order["store"], store_order["gtin"], store_order["picker"]
    assert client.post(f"/api/v1/shipments/{store_order['shipment']}/start", headers=picker).status_code == 200
    order = routing_repository.order_with_shipments(session, store_order["order"], lock=True)
    assert order is not None
    opened = cancel_order(session, order, "customer called", "ops:test")
    assert len(opened) == 1
    assert check(session) == []
    # The units are in the picker's hands: still reserved (by the task now), not available to anyone else.
    assert level(client, ops, store, gtin)["reserved"] == 3
    queue = client.get(f"/api/v1/stores/{store}/tasks", headers=picker).json()
    assert [(t["kind"], t["task_id"], t["gtin"], t["qty"], t["reason"]) for t in queue] == [("put_back", opened[0], gtin, 3, "customer called")]
    done = client.post(f"/api/v1/stores/{store}/tasks/{opened[0]}/done", headers=picker)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done" and done.json()["done_by"].startswith("picker")
    after = level(client, ops, store, gtin)
    assert (after["reserved"], after["available"]) == (0, 5)
    # A retried tap changes nothing.
    again = client.post(f"/api/v1/stores/{store}/tasks/{opened[0]}/done", headers=picker)
    assert again.status_code == 200
    releases = session.scalars(select(StockEvent).where(StockEvent.idempotency_key == f"put-back:{opened[0]}")).all()
    assert len(releases) == 1 and releases[0].reserved_delta == -3
    assert client.get(f"/api/v1/stores/{store}/tasks", headers=picker).json() == []
    assert client.get(f"/api/v1/orders/{store_order['order']}", headers=ops).json()["status"] == "cancelled"


def test_an_unstarted_shipment_cancelled_is_released_at_once(client: TestClient, ops: dict[str, str], store_order: dict[str, Any], session: Session) -> None:
    order = routing_repository.order_with_shipments(session, store_order["order"], lock=True)
    assert order is not None
    assert cancel_order(session, order, "fraud", "ops:test") == []
    assert level(client, ops, store_order["store"], store_order["gtin"])["reserved"] == 0
    assert [ln.cancelled_qty for ln in order.lines] == [3]
    assert client.get(f"/api/v1/stores/{store_order['store']}/tasks", headers=ops).json() == []


def test_a_task_of_another_location_or_unknown_is_missing(client: TestClient, ops: dict[str, str], store_order: dict[str, Any], make_location: Callable[..., Any]) -> None:
    assert client.post(f"/api/v1/stores/{store_order['store']}/tasks/999999/done", headers=ops).status_code == 404


def test_a_cycle_count_is_raised_once_per_product_and_confirmed(
    client: TestClient, ops: dict[str, str], store_order: dict[str, Any], session: Session
) -> None:
    store, gtin = store_order["store"], store_order["gtin"]
    first = tasks.open_cycle_count(session, store, gtin, "short pick: not found")
    assert tasks.open_cycle_count(session, store, gtin, "again").id == first.id
    queue = client.get(f"/api/v1/stores/{store}/tasks?kind=cycle_count", headers=ops).json()
    assert [(t["kind"], t["task_id"], t["gtin"]) for t in queue] == [("cycle_count", first.id, gtin)]
    tasks.close_cycle_counts(session, store, gtin, "ops:test")
    assert session.get(StoreTask, first.id).status is TaskStatus.DONE  # type: ignore[union-attr]
    assert client.get(f"/api/v1/stores/{store}/tasks?kind=cycle_count", headers=ops).json() == []


def test_the_store_stream_carries_shipment_order_and_task_events(client: TestClient, ops: dict[str, str], store_order: dict[str, Any], session: Session) -> None:
    store, picker = store_order["store"], store_order["picker"]
    assert client.post(f"/api/v1/shipments/{store_order['shipment']}/start", headers=picker).status_code == 200
    events = read_events(client, f"/api/v1/locations/{store}/stream?from_start=true&max_events=20&max_seconds=2", picker)
    business = [(e["event"], e["data"]["kind"]) for e in events if e["event"] != "stock"]
    assert ("shipment", "shipment.assigned") in business
    assert ("shipment", "shipment.picking") in business
    assert ("order", "order.routed") in business and ("order", "order.fulfilling") in business
    assert all(e["id"].count(".") == 3 for e in events)
    # Resuming after the last one brings only what happens next.
    order = routing_repository.order_with_shipments(session, store_order["order"], lock=True)
    assert order is not None
    task = cancel_order(session, order, "out of stock", "ops:test")[0]
    session.flush()
    later = read_events(client, f"/api/v1/locations/{store}/stream?max_events=10&max_seconds=2", {**picker, "Last-Event-ID": events[-1]["id"]})
    kinds = [e["data"]["kind"] for e in later]
    assert "task.opened" in kinds and "shipment.cancelled" in kinds and "order.cancelled" in kinds
    opened = next(e for e in later if e["data"]["kind"] == "task.opened")
    assert opened["event"] == "task" and opened["data"]["data"]["task_id"] == task
    # The customer's copy of the order event has no location.
    for_customer = session.scalars(select(DomainEvent).where(DomainEvent.order_id == order.id, DomainEvent.kind == "order.cancelled")).all()
    assert sorted((e.location_id or "") for e in for_customer) == ["", store]


def test_the_queue_is_most_urgent_first(
    client: TestClient, ops: dict[str, str], store_order: dict[str, Any], session: Session, make_product: Callable[..., Any],
    stock_of: Callable[..., None],
) -> None:
    """A delivery pick is due at the store's cut-off of its dispatch day, a pickup from the store's own shelves when its
    promised ready time comes, a put back a day after it was raised; the queue is sorted by those times."""
    from datetime import datetime, timedelta

    from fulfil.config import Settings
    from fulfil.models import Location, Order
    from fulfil.promise import calendar

    store = store_order["store"]
    patched = client.patch(f"/api/v1/locations/{store}", headers=ops, json={
        "cutoff_time": "16:00", "timezone": "Europe/Paris", "opening_hours": {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}})
    assert patched.status_code == 200, patched.text
    other = make_product().gtin
    stock_of(store, other, 2)
    delivery = client.post("/api/v1/orders", headers=ops, json={
        "external_id": f"TASKS-D-{store}", "channel": "web", "ship_to": {"lat": 45.01, "lon": 4.0}, "lines": [{"gtin": other, "qty": 1}]})
    assert delivery.status_code == 201 and delivery.json()["shipments"][0]["location_id"] == store
    cycle = tasks.open_cycle_count(session, store, other, "test")
    session.commit()

    queue = client.get(f"/api/v1/stores/{store}/tasks", headers=store_order["picker"]).json()
    dues = [datetime.fromisoformat(t["due"]) for t in queue]
    assert dues == sorted(dues) and len(queue) == 3
    by_ref = {t["ref"]: t for t in queue}
    location = session.get(Location, store)
    hours = calendar.hours_of(location.opening_hours, location.timezone, location.cutoff_time)
    pickup = by_ref[f"shipment:{store_order['shipment']}"]
    ordered_at = session.get(Order, store_order["order"]).created_at
    assert datetime.fromisoformat(pickup["due"]) == calendar.ready_at(hours, ordered_at, timedelta(minutes=Settings().pickup_ready_minutes))
    parcel = by_ref[f"shipment:{delivery.json()['shipments'][0]['id']}"]
    local = datetime.fromisoformat(parcel["due"]).astimezone(hours.zone)
    assert (local.hour, local.minute) == (16, 0)  # the cut-off of its dispatch day
    chore = by_ref[f"task:{cycle.id}"]
    assert datetime.fromisoformat(chore["due"]) - datetime.fromisoformat(chore["since"]) == timedelta(hours=24)
    assert queue[-1]["ref"] == f"task:{cycle.id}"  # chores after the customers' work

"""Cancellations and short picks racing each other and the store's work, on the committed database with real threads
(PostgreSQL in CI): whichever commits second sees the first, units are cancelled or shorted once, and no deadlock.

Each test commits for real through the API and removes what it made afterwards; the stock invariant is checked on
what stays committed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from fulfil.app import create_app
from fulfil.auth.service import create_token
from fulfil.db import make_session_factory, unit_of_work
from fulfil.models import (
    ApiToken, DomainEvent, Location, LocationKind, OrderCancellation, OrderLine, Product, Role, ShortPick, StockCause, StockEvent,
    StockLevel, StoreTask, TaskKind, TaskStatus,
)
from fulfil.stock import service as stock
from tests.conftest import assert_stock_consistent
from tests.factories import delete_orders, make_gtin, quiet_settings
from tests.service.test_concurrency import race


@pytest.fixture()
def site(engine: Engine, database_url: str, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Committed for real: a store beside the customers and a far warehouse with a product, an ops token and the
    store's picker, and a client of an app on that database. Everything is removed afterwards."""
    factory = make_session_factory(engine)
    tag = uuid.uuid4().hex[:8]
    store, dc, gtin = f"RST-{tag}", f"RDC-{tag}", make_gtin(prefix="0999998")
    with unit_of_work(factory) as s:
        s.add(Location(id=store, name="race store", kind=LocationKind.STORE, lat=45.0, lon=4.0, capacity_per_day=50, pick_cost_per_unit=0.5))
        s.add(Location(id=dc, name="race dc", kind=LocationKind.WAREHOUSE, lat=49.5, lon=4.0, capacity_per_day=50, pick_cost_per_unit=0.4))
        s.merge(Product(gtin=gtin, name="race", company_prefix_length=7))
    with unit_of_work(factory) as s:
        cause = stock.Cause(StockCause.SYSTEM, actor="race", reason="receipt")
        stock.adjust(s, store, gtin, cause, delta=5)
        stock.adjust(s, dc, gtin, cause, delta=10)
        ops = create_token(s, role=Role.OPS, name=f"race-{tag}").secret
        picker = create_token(s, role=Role.PICKER, name=f"race-{tag}", location_id=store).secret
    app = create_app(quiet_settings(database_url), engine=engine)
    try:
        with TestClient(app) as client:
            yield {"client": client, "factory": factory, "store": store, "dc": dc, "gtin": gtin,
                   "ops": {"Authorization": f"Bearer {ops}"}, "picker": {"Authorization": f"Bearer {picker}"}}
        with engine.connect() as conn:
            assert_stock_consistent(conn, request)
    finally:
        with unit_of_work(factory) as s:
            delete_orders(s, list(s.scalars(select(OrderLine.order_id).where(OrderLine.gtin == gtin))))
            s.execute(delete(DomainEvent).where(DomainEvent.location_id.in_([store, dc])))
            s.execute(delete(StoreTask).where(StoreTask.location_id.in_([store, dc])))
            s.execute(delete(StockEvent).where(StockEvent.location_id.in_([store, dc])))
            s.execute(delete(StockLevel).where(StockLevel.location_id.in_([store, dc])))
            s.execute(delete(ApiToken).where(ApiToken.name == f"race-{tag}"))
            s.execute(delete(Product).where(Product.gtin == gtin))
            s.execute(delete(Location).where(Location.id.in_([store, dc])))


def place(site: dict[str, Any], qty: int) -> dict[str, Any]:
    body = {"external_id": f"RACE-{uuid.uuid4().hex[:10]}", "channel": "web", "ship_to": {"lat": 45.01, "lon": 4.0},
            "lines": [{"gtin": site["gtin"], "qty": qty}]}
    response = site["client"].post("/api/v1/orders", headers=site["ops"], json=body)
    assert response.status_code == 201, response.text
    [shipment] = response.json()["shipments"]
    assert shipment["location_id"] == site["store"]
    return {"order": response.json()["id"], "shipment": shipment["id"]}


def cancel(site: dict[str, Any], order_id: int, lines: int | None = None, key: str | None = None) -> Any:
    body: dict[str, Any] = {"reason": "race"}
    if lines is not None:
        body["lines"] = [{"gtin": site["gtin"], "qty": lines}]
    headers = site["ops"] | ({"Idempotency-Key": key} if key else {})
    return site["client"].post(f"/api/v1/orders/{order_id}/cancel", headers=headers, json=body)


def short(site: dict[str, Any], shipment_id: int, key: str) -> Any:
    body = {"reason": "not_found", "lines": [{"gtin": site["gtin"], "qty": 1}]}
    return site["client"].post(f"/api/v1/shipments/{shipment_id}/short", headers=site["picker"] | {"Idempotency-Key": key}, json=body)


def rows(site: dict[str, Any], model: Any, *where: Any) -> list[Any]:
    with Session(site["factory"].kw["bind"]) as s:
        return list(s.scalars(select(model).where(*where)))


def level(site: dict[str, Any], location: str) -> StockLevel:
    with Session(site["factory"].kw["bind"]) as s:
        found = s.get(StockLevel, (location, site["gtin"]))
        assert found is not None
        return found


def test_a_cancellation_racing_a_pick_start(site: dict[str, Any]) -> None:
    """Either the pick starts and the cancellation opens a put back, or the cancellation wins and the start is
    refused: never a released reservation and a started pick."""
    placed = place(site, 3)
    start_url = f"/api/v1/shipments/{placed['shipment']}/start"
    started, cancelled = race(2, lambda i: site["client"].post(start_url, headers=site["picker"]) if i == 0 else cancel(site, placed["order"]))
    assert cancelled.status_code == 200, cancelled.text
    put_backs = rows(site, StoreTask, StoreTask.shipment_id == placed["shipment"], StoreTask.kind == TaskKind.PUT_BACK)
    releases = rows(site, StockEvent, StockEvent.shipment_id == placed["shipment"], StockEvent.reserved_delta < 0)
    if started.status_code == 200:  # the pick started first: the units are in the basket, a put back holds them
        assert cancelled.json()["put_back_task_ids"] == [t.id for t in put_backs] and len(put_backs) == 1
        assert releases == [] and level(site, site["store"]).reserved == 3
    else:  # the cancellation won: released at once, nothing to put back, the start refused
        assert started.status_code == 409 and started.json()["error"]["code"] == "invalid_transition", started.text
        assert (cancelled.json()["put_back_task_ids"], put_backs) == ([], [])
        assert [e.reserved_delta for e in releases] == [-3] and level(site, site["store"]).reserved == 0
    assert [s["status"] for s in cancelled.json()["order"]["shipments"]] == ["cancelled"]


@pytest.mark.parametrize("how", ["whole", "same key", "different keys"])
def test_two_cancellations_at_once_cancel_once(site: dict[str, Any], how: str) -> None:
    placed = place(site, 3)
    if how == "whole":
        answers = race(2, lambda i: cancel(site, placed["order"]))
    elif how == "same key":
        answers = race(2, lambda i: cancel(site, placed["order"], lines=2, key="same"))
    else:
        answers = race(2, lambda i: cancel(site, placed["order"], lines=2, key=f"key-{i}"))
    codes = sorted(a.status_code for a in answers)
    cancelled_units = sum(line.cancelled_qty for line in rows(site, OrderLine, OrderLine.order_id == placed["order"]))
    released = -sum(e.reserved_delta for e in rows(site, StockEvent, StockEvent.shipment_id == placed["shipment"], StockEvent.reserved_delta < 0))
    if how == "different keys":  # 2 + 2 of 3: the second is refused whole
        assert codes == [200, 409], [a.text for a in answers]
        assert next(a for a in answers if a.status_code == 409).json()["error"]["code"] == "too_many_units"
        assert (cancelled_units, released) == (2, 2)
    else:
        assert codes == [200, 200], [a.text for a in answers]
        assert sorted(a.json()["replayed"] for a in answers) == [False, True]
        assert (cancelled_units, released) == ((3, 3) if how == "whole" else (2, 2))
    kept = rows(site, OrderCancellation, OrderCancellation.order_id == placed["order"])
    assert len(kept) == 1
    notices = rows(site, DomainEvent, DomainEvent.order_id == placed["order"], DomainEvent.kind == "order.cancellation", DomainEvent.location_id.is_(None))
    assert len(notices) == 1


def test_a_short_pick_racing_a_cancellation(site: dict[str, Any]) -> None:
    """Short first: its unit is re-routed, then the cancellation cancels that too. Cancellation first: the short
    is refused (the shipment is cancelled). Either way nothing of the order is left routed and the books hold."""
    placed = place(site, 3)
    assert site["client"].post(f"/api/v1/shipments/{placed['shipment']}/start", headers=site["picker"]).status_code == 200
    shorted, cancelled = race(2, lambda i: short(site, placed["shipment"], "r-1") if i == 0 else cancel(site, placed["order"]))
    assert cancelled.status_code == 200, cancelled.text
    order = cancelled.json()["order"]
    assert order["status"] == "cancelled" and {s["status"] for s in order["shipments"]} <= {"cancelled"}
    assert level(site, site["dc"]).reserved == 0
    open_put_backs = sum(t.qty for t in rows(site, StoreTask, StoreTask.shipment_id == placed["shipment"], StoreTask.kind == TaskKind.PUT_BACK,
                                             StoreTask.status == TaskStatus.OPEN))
    store = level(site, site["store"])
    if shorted.status_code == 200:  # the short came first: one unit lost, its replacement at the warehouse cancelled
        assert [s["location_id"] for s in shorted.json()["new_shipments"]] == [site["dc"]]
        assert (store.on_hand, store.reserved, open_put_backs) == (4, 2, 2)
        assert len(rows(site, ShortPick, ShortPick.shipment_id == placed["shipment"])) == 1
    else:
        assert shorted.status_code == 409 and shorted.json()["error"]["code"] == "invalid_transition", shorted.text
        assert (store.on_hand, store.reserved, open_put_backs) == (5, 3, 3)
        assert rows(site, ShortPick, ShortPick.shipment_id == placed["shipment"]) == []


def test_a_short_pick_sent_twice_at_once_shorts_once(site: dict[str, Any]) -> None:
    placed = place(site, 3)
    assert site["client"].post(f"/api/v1/shipments/{placed['shipment']}/start", headers=site["picker"]).status_code == 200
    answers = race(2, lambda i: short(site, placed["shipment"], "twice"))
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert sorted(a.json()["replayed"] for a in answers) == [False, True]
    assert len({a.json()["rerouted"]["id"] for a in answers}) == 1
    assert len(rows(site, ShortPick, ShortPick.shipment_id == placed["shipment"])) == 1
    assert (level(site, site["store"]).on_hand, level(site, site["dc"]).reserved) == (4, 1)

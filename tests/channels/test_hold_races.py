"""Racing checkouts on the real database, with real threads and separate transactions: customers racing for the
last units, orders racing for one hold, sweeps racing each other and the channel. Each unit is promised once, each
hold ends once, and the stock invariant holds afterwards.

These tests commit for real: they make their own uniquely named rows and remove them afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select, update

from fulfil.app import create_app
from fulfil.auth.service import create_token
from fulfil.db import make_session_factory, unit_of_work
from fulfil.holds.service import sweep
from fulfil.models import ApiToken, HoldStatus, Location, LocationKind, Order, Product, Role, StockCause, StockEvent, StockHold, StockLevel
from fulfil.models.base import utcnow
from fulfil.stock import service as stock
from tests.conftest import assert_stock_consistent
from tests.factories import delete_holds, delete_orders, make_gtin, quiet_settings
from tests.service.test_concurrency import race

THREADS = 12
SHIP_TO = {"lat": 45.75, "lon": 4.85}


@pytest.fixture()
def shop(engine: Engine, database_url: str, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A store with a product, a channel token and an app, committed for real; removed afterwards."""
    factory = make_session_factory(engine)
    tag = uuid.uuid4().hex[:8]
    store, gtin = f"RACE-HOLD-{tag}", make_gtin(prefix="0999998")
    with unit_of_work(factory) as s:
        s.add(Location(id=store, name="race store", kind=LocationKind.STORE, lat=45.76, lon=4.84, capacity_per_day=None))
        s.merge(Product(gtin=gtin, name="race", company_prefix_length=7))
    with unit_of_work(factory) as s:
        secret = create_token(s, role=Role.CHANNEL, name=f"race-{store}").secret
    app = create_app(quiet_settings(database_url), engine=engine)
    world = {"factory": factory, "store": store, "gtin": gtin, "app": app, "headers": {"Authorization": f"Bearer {secret}"}}
    yield world
    try:
        with engine.connect() as conn:
            assert_stock_consistent(conn, request)
    finally:
        with unit_of_work(factory) as s:
            delete_orders(s, list(s.scalars(select(Order.id).join(ApiToken, ApiToken.id == Order.token_id).where(ApiToken.name == f"race-{store}"))))
            delete_holds(s, select(StockHold.id).join(ApiToken, ApiToken.id == StockHold.token_id).where(ApiToken.name == f"race-{store}"))
            s.execute(delete(StockEvent).where(StockEvent.location_id == store))
            s.execute(delete(StockLevel).where(StockLevel.location_id == store))
            s.execute(delete(ApiToken).where(ApiToken.name == f"race-{store}"))
            s.execute(delete(Product).where(Product.gtin == gtin))
            s.execute(delete(Location).where(Location.id == store))


def receive(world: dict[str, Any], units: int) -> None:
    with unit_of_work(world["factory"]) as s:
        stock.adjust(s, world["store"], world["gtin"], stock.Cause(StockCause.SYSTEM, actor="race", reason="receipt"), delta=units)


def reserved(world: dict[str, Any]) -> int:
    with world["factory"]() as s:
        row = s.get(StockLevel, (world["store"], world["gtin"]))
        assert row is not None
        return row.reserved


def hold(client: TestClient, world: dict[str, Any], qty: int = 1, seconds: int = 600) -> dict[str, Any]:
    response = client.post("/api/v1/promise", headers=world["headers"], json={
        "lines": [{"gtin": world["gtin"], "qty": qty}], "ship_to": SHIP_TO, "hold_seconds": seconds,
    })
    assert response.status_code == 200, response.text
    return response.json()["hold"]


def order_body(world: dict[str, Any], hold_id: str, qty: int = 1) -> dict[str, Any]:
    return {"external_id": f"RACE-{uuid.uuid4().hex[:10]}", "channel": "web", "hold_id": hold_id, "ship_to": SHIP_TO,
            "lines": [{"gtin": world["gtin"], "qty": qty}]}


def test_customers_racing_for_the_last_units_are_promised_each_unit_once(shop: dict[str, Any]) -> None:
    receive(shop, 2)
    body = {"lines": [{"gtin": shop["gtin"], "qty": 1}], "ship_to": SHIP_TO, "hold_seconds": 600}
    with TestClient(shop["app"]) as client:
        answers = race(THREADS, lambda _i: client.post("/api/v1/promise", headers=shop["headers"], json=body))
    won = [a for a in answers if a.status_code == 200]
    lost = [a for a in answers if a.status_code == 409]
    assert len(won) == 2 and len(lost) == THREADS - 2, [a.text for a in answers if a.status_code not in (200, 409)][:3]
    assert {a.json()["error"]["code"] for a in lost} <= {"insufficient_stock", "hold_contention"}
    assert len({a.json()["hold"]["id"] for a in won}) == 2
    assert reserved(shop) == 2


def test_orders_racing_for_one_hold_take_it_once(shop: dict[str, Any]) -> None:
    receive(shop, 3)
    with TestClient(shop["app"]) as client:
        held = hold(client, shop, qty=2)
        answers = race(THREADS, lambda _i: client.post("/api/v1/orders", headers=shop["headers"], json=order_body(shop, held["id"], 2)))
    won = [a for a in answers if a.status_code == 201]
    lost = [a for a in answers if a.status_code == 409]
    assert len(won) == 1 and len(lost) == THREADS - 1, [a.text for a in answers if a.status_code not in (201, 409)][:3]
    assert {a.json()["error"]["code"] for a in lost} == {"hold_consumed"}
    assert reserved(shop) == 2  # the order's shipment holds the two units; nothing more was taken


def test_an_order_and_a_release_racing_for_one_hold_one_wins(shop: dict[str, Any]) -> None:
    receive(shop, 1)
    with TestClient(shop["app"]) as client:
        held = hold(client, shop)

        def act(i: int) -> Any:
            if i % 2:
                return client.delete(f"/api/v1/holds/{held['id']}", headers=shop["headers"])
            return client.post("/api/v1/orders", headers=shop["headers"], json=order_body(shop, held["id"]))

        answers = race(4, act)
        final = client.get(f"/api/v1/holds/{held['id']}", headers=shop["headers"]).json()["status"]
    ordered = [a for a in answers if a.request.method == "POST" and a.status_code == 201]
    released = [a for a in answers if a.request.method == "DELETE" and a.status_code == 200]
    if final == "consumed":
        assert len(ordered) == 1 and not released and reserved(shop) == 1
    else:
        assert final == "released" and not ordered and len(released) == 2 and reserved(shop) == 0
    assert all(a.status_code in (200, 201, 409) for a in answers), [a.text for a in answers]


def test_sweeps_and_releases_racing_end_each_hold_once(shop: dict[str, Any]) -> None:
    receive(shop, 6)
    with TestClient(shop["app"]) as client:
        holds = [hold(client, shop) for _ in range(4)]
        with unit_of_work(shop["factory"]) as s:  # as if their time had run out
            s.execute(update(StockHold).where(StockHold.public_id.in_([h["id"] for h in holds])).values(expires_at=utcnow() - timedelta(seconds=1)))

        def act(i: int) -> Any:
            if i % 3 == 0:
                return client.delete(f"/api/v1/holds/{holds[i % 4]['id']}", headers=shop["headers"])
            return sweep(shop["factory"], utcnow())

        outcomes = race(THREADS, act)
    assert not [o for o in outcomes if isinstance(o, Exception)]
    with shop["factory"]() as s:
        ids = [h["id"] for h in holds]
        statuses = set(s.scalars(select(StockHold.status).where(StockHold.public_id.in_(ids))))
        assert statuses <= {HoldStatus.EXPIRED, HoldStatus.RELEASED}
        releases = s.scalar(select(func.count()).select_from(StockEvent).join(StockHold, StockHold.id == StockEvent.hold_id).where(
            StockHold.public_id.in_(ids), StockEvent.reserved_delta < 0))
        assert releases == 4  # one release per hold, whoever ended it
    assert reserved(shop) == 0

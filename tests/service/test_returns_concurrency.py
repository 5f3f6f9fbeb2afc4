"""Racing returns on a real database (PostgreSQL in CI): the same return posted at once counts once, the same tag in
two returns comes back once, and two returns never both take the last returnable unit.

These tests commit for real through separate connections, so they create their own uniquely named rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from fulfil.app import create_app
from fulfil.auth.service import create_token
from fulfil.db import make_session_factory, unit_of_work
from fulfil.models import (
    ApiToken, DomainEvent, Location, LocationKind, Product, Return, ReturnLine, RfidTag, Role, StockEvent, StockEventKind, StockLevel, TagAnomaly,
)
from tests.conftest import assert_stock_consistent, make_gtin
from tests.delivery import Delivered, deliver
from tests.factories import delete_orders, quiet_settings
from tests.service.test_concurrency import race

THREADS = 12


@pytest.fixture()
def shipped(engine: Engine, database_url: str, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Committed for real: a store that shipped an order of 2 units home, a store the customer walks into, an ops
    token and an app; all removed afterwards."""
    factory = make_session_factory(engine)
    store, walk_in = f"RET-A-{uuid.uuid4().hex[:8]}", f"RET-B-{uuid.uuid4().hex[:8]}"
    gtin = make_gtin(prefix="0999999")
    with unit_of_work(factory) as s:
        s.add_all([Location(id=store, name="shipper", kind=LocationKind.STORE, lat=48.86, lon=2.35),
                   Location(id=walk_in, name="walk-in", kind=LocationKind.STORE, lat=45.76, lon=4.83)])
        s.merge(Product(gtin=gtin, name="race", company_prefix_length=7))
        secret = create_token(s, role=Role.OPS, name=f"race-{store}").secret
    with factory() as s:
        order = deliver(s, store, [(gtin, 2, "12.50")])
    app = create_app(quiet_settings(database_url), engine=engine)
    try:
        with TestClient(app) as client:
            yield {"client": client, "headers": {"Authorization": f"Bearer {secret}"}, "order": order, "gtin": gtin,
                   "walk_in": walk_in, "factory": factory}
        with engine.connect() as conn:
            assert_stock_consistent(conn, request)
    finally:
        with unit_of_work(factory) as s:
            epcs = [e for tags in order.epcs.values() for e in tags]
            s.execute(delete(TagAnomaly).where(TagAnomaly.epc.in_(epcs)))
            s.execute(delete(DomainEvent).where(DomainEvent.location_id.in_([store, walk_in])))
            s.execute(delete(RfidTag).where(RfidTag.epc.in_(epcs)))
            delete_orders(s, [order.order_id])
            s.execute(delete(StockEvent).where(StockEvent.location_id.in_([store, walk_in])))
            s.execute(delete(StockLevel).where(StockLevel.location_id.in_([store, walk_in])))
            s.execute(delete(ApiToken).where(ApiToken.name == f"race-{store}"))
            s.execute(delete(Product).where(Product.gtin == gtin))
            s.execute(delete(Location).where(Location.id.in_([store, walk_in])))


def _post(world: dict[str, Any], external_id: str, items: list[dict[str, Any]]) -> Any:
    order: Delivered = world["order"]
    body = {"external_id": external_id, "location_id": world["walk_in"], "order_id": order.order_id, "items": items}
    return world["client"].post("/api/v1/returns", headers=world["headers"], json=body)


def _books(world: dict[str, Any]) -> tuple[int, int, int]:
    """Returns of the order, units returned, and on-hand units at the walk-in store (from a fresh session)."""
    with world["factory"]() as s:
        returns = s.scalar(select(func.count()).select_from(Return).where(Return.order_id == world["order"].order_id)) or 0
        units = s.scalar(select(func.coalesce(func.sum(ReturnLine.qty), 0)).join(Return).where(Return.order_id == world["order"].order_id))
        level = s.get(StockLevel, (world["walk_in"], world["gtin"]))
        return int(returns), int(units or 0), level.on_hand if level else 0


def test_the_same_return_posted_at_once_counts_once(shipped: dict[str, Any]) -> None:
    epc = shipped["order"].epcs[shipped["gtin"]][0]
    answers = race(THREADS, lambda _i: _post(shipped, "RET-TWIN", [{"epc": epc, "grade": "resellable", "reason": "too_small"}]))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1 and codes.count(200) == THREADS - 1, [a.text for a in answers if a.status_code not in (200, 201)]
    assert len({a.json()["id"] for a in answers}) == 1
    assert _books(shipped) == (1, 1, 1)
    with Session(shipped["factory"].kw["bind"]) as s:
        events = s.scalars(select(StockEvent).where(StockEvent.location_id == shipped["walk_in"], StockEvent.kind == StockEventKind.RETURN)).all()
        assert [(e.epc, e.on_hand_delta) for e in events] == [(epc, 1)]


def test_the_same_tag_in_two_returns_at_once_comes_back_once(shipped: dict[str, Any]) -> None:
    epc = shipped["order"].epcs[shipped["gtin"]][1]
    answers = race(THREADS, lambda i: _post(shipped, f"RET-TAG-{i}", [{"epc": epc, "grade": "damaged", "reason": "defective"}]))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1 and codes.count(409) == THREADS - 1, [a.text for a in answers if a.status_code not in (201, 409)]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"already_returned"}
    assert _books(shipped)[:2] == (1, 1)
    with shipped["factory"]() as s:
        level = s.get(StockLevel, (shipped["walk_in"], shipped["gtin"]))
        assert level is not None and (level.on_hand, level.quarantined) == (0, 1)


def test_two_returns_never_both_take_the_last_unit(shipped: dict[str, Any]) -> None:
    assert _post(shipped, "RET-FIRST", [{"gtin": shipped["gtin"], "grade": "resellable", "reason": "other"}]).status_code == 201
    answers = race(THREADS, lambda i: _post(shipped, f"RET-LAST-{i}", [{"gtin": shipped["gtin"], "grade": "resellable", "reason": "other"}]))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1 and codes.count(409) == THREADS - 1, [a.text for a in answers if a.status_code not in (201, 409)]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"over_return"}
    assert _books(shipped) == (2, 2, 2)

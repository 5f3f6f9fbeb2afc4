"""Racing writers on a real database (PostgreSQL in CI): reservations never oversell, duplicate intakes never duplicate.

These tests commit for real through separate connections, so they create their own uniquely named rows."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from fulfil.app import create_app
from fulfil.auth.service import create_token
from fulfil.db import make_session_factory, unit_of_work
from fulfil.errors import InsufficientStock
from fulfil.models import (
    ApiToken, Location, LocationKind, Order, OrderLine, Product, Role, StockCause, StockEvent, StockLevel,
)
from fulfil.stock import service
from tests.conftest import assert_stock_consistent, make_gtin
from tests.factories import delete_orders, quiet_settings

THREADS = 24


@pytest.fixture()
def committed(engine: Engine, request: pytest.FixtureRequest) -> Iterator[tuple[str, str, Any]]:
    """A location and product committed for real, removed (with everything pointing at them) afterwards."""
    factory = make_session_factory(engine)
    loc, gtin = f"RACE-{uuid.uuid4().hex[:8]}", make_gtin(prefix="0999999")
    with unit_of_work(factory) as s:
        s.add(Location(id=loc, name="race", kind=LocationKind.STORE, lat=1, lon=1))
        s.merge(Product(gtin=gtin, name="race"))
    yield loc, gtin, factory
    try:
        with engine.connect() as conn:
            assert_stock_consistent(conn, request)
    finally:
        _clean_up(factory, loc, gtin)


def _clean_up(factory: sessionmaker[Session], loc: str, gtin: str) -> None:
    with unit_of_work(factory) as s:
        order_ids = select(OrderLine.order_id).where(OrderLine.gtin == gtin)
        s.execute(delete(StockEvent).where(StockEvent.location_id == loc))
        s.execute(delete(StockLevel).where(StockLevel.location_id == loc))
        ids = list(s.scalars(order_ids))
        delete_orders(s, ids)
        s.execute(delete(ApiToken).where(ApiToken.name == f"race-{loc}"))  # after the orders it placed (orders.token_id)
        s.execute(delete(Product).where(Product.gtin == gtin))
        s.execute(delete(Location).where(Location.id == loc))


def race(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in n threads released together by a barrier; return results or exceptions."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        try:
            return work(i)
        except Exception as exc:  # the outcome under test
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


@pytest.mark.stock_drift  # the stock rule alone, reserving without shipments: no open shipment holds these units
@pytest.mark.parametrize(("units", "safety", "per_request"), [(10, 0, 1), (12, 3, 2), (5, 0, 3)])
def test_racing_reservations_never_oversell(committed: tuple[str, str, Any], units: int, safety: int, per_request: int) -> None:
    loc, gtin, factory = committed
    cause = service.Cause(StockCause.SYSTEM, actor="race", reason="receipt")
    with unit_of_work(factory) as s:
        service.adjust(s, loc, gtin, cause, delta=units)
        if safety:
            service.set_safety(s, loc, gtin, safety, cause)

    def reserve(_i: int) -> bool:
        with unit_of_work(factory) as s:
            service.reserve(s, loc, gtin, per_request, service.Cause(StockCause.ORDER, actor="race"))
        return True

    outcomes = race(THREADS, reserve)
    won = sum(1 for o in outcomes if o is True)
    refused = [o for o in outcomes if isinstance(o, InsufficientStock)]
    assert won + len(refused) == THREADS, [o for o in outcomes if o is not True and not isinstance(o, InsufficientStock)]
    assert won == (units - safety) // per_request
    with Session(factory.kw["bind"]) as s:
        row = s.get(StockLevel, (loc, gtin))
        assert row is not None and row.reserved == won * per_request
        assert row.on_hand - row.reserved - row.safety >= 0
        logged = s.scalars(select(StockEvent).where(StockEvent.location_id == loc, StockEvent.reserved_delta > 0)).all()
        assert len(logged) == won


def test_racing_duplicate_order_posts_create_one_order(engine: Engine, database_url: str, committed: tuple[str, str, Any]) -> None:
    loc, gtin, factory = committed
    with unit_of_work(factory) as s:
        secret = create_token(s, role=Role.OPS, name=f"race-{loc}").secret
    app = create_app(quiet_settings(database_url), engine=engine)
    external_id = f"RACE-{uuid.uuid4().hex[:10]}"
    body = {"external_id": external_id, "channel": "web", "ship_to": {"lat": 48.0, "lon": 2.0}, "lines": [{"gtin": gtin, "qty": 1}]}
    with TestClient(app) as client:
        responses = race(12, lambda _i: client.post("/api/v1/orders", headers={"Authorization": f"Bearer {secret}"}, json=body))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 1 and codes.count(200) == 11, codes
    assert len({r.json()["id"] for r in responses}) == 1
    with Session(engine) as s:
        assert len(s.scalars(select(Order).where(Order.external_id == external_id)).all()) == 1

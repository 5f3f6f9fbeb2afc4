"""Racing click-and-collect writers on the real database, with real threads and separate sessions: the same code
handed over at several counters at once, two sweeps (two processes) expiring or reminding at once, a parcel
received twice at once, a handover against an expiry. Each happens once; stock is never counted twice.

These tests commit for real, so they create their own uniquely named rows and remove them afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select

from fulfil.app import create_app
from fulfil.auth.service import Principal, create_token
from fulfil.config import Settings
from fulfil.db import make_session_factory, unit_of_work
from fulfil.models import (
    ApiToken, DomainEvent, Handover, Location, LocationKind, Order, Product, Role, Shipment, ShipmentStatus, StockCause, StockEvent,
    StockEventKind, StockLevel,
)
from fulfil.orders.schemas import OrderCreate
from fulfil.orders.service import take_in
from fulfil.pickups import service as pickups
from fulfil.pickups.expiry import sweep
from fulfil.shipments import workflow
from fulfil.shipments.verification import verify_station
from fulfil.stock import service as stock
from rfid.epc import encode_sgtin96
from tests.conftest import assert_stock_consistent, make_gtin
from tests.factories import delete_orders, next_number, quiet_settings
from tests.service.test_concurrency import race

OPS = Principal(token_id=0, name="race", role=Role.OPS, location_id=None)
THREADS = 12


@pytest.fixture()
def places(engine: Engine, database_url: str, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A pickup store and another store, a product with stock at both, an ops token and an app, committed for real;
    removed with everything pointing at them afterwards (after the stock invariant is checked)."""
    factory = make_session_factory(engine)
    tag = uuid.uuid4().hex[:8]
    store, other, gtin = f"RACE-CC-{tag}", f"RACE-SRC-{tag}", make_gtin(prefix="0999999")
    with unit_of_work(factory) as s:
        s.add(Location(id=store, name="race pickup store", kind=LocationKind.STORE, lat=45.0, lon=5.0, pickup_hold_days=2))
        s.add(Location(id=other, name="race source", kind=LocationKind.STORE, lat=45.1, lon=5.1, capacity_per_day=None))
        s.merge(Product(gtin=gtin, name="race", company_prefix_length=7))
    with unit_of_work(factory) as s:
        secret = create_token(s, role=Role.OPS, name=f"race-{store}").secret
    app = create_app(quiet_settings(database_url), engine=engine)
    world = {"factory": factory, "store": store, "other": other, "gtin": gtin, "orders": [], "app": app,
             "headers": {"Authorization": f"Bearer {secret}"}}
    yield world
    try:
        with engine.connect() as conn:
            assert_stock_consistent(conn, request)
    finally:
        with unit_of_work(factory) as s:
            delete_orders(s, world["orders"])
            for loc in (store, other):
                s.execute(delete(DomainEvent).where(DomainEvent.location_id == loc))
                s.execute(delete(StockEvent).where(StockEvent.location_id == loc))
                s.execute(delete(StockLevel).where(StockLevel.location_id == loc))
            s.execute(delete(ApiToken).where(ApiToken.name == f"race-{store}"))
            s.execute(delete(Product).where(Product.gtin == gtin))
            s.execute(delete(Location).where(Location.id.in_([store, other])))


def stock_at(world: dict[str, Any], location: str, units: int) -> None:
    with unit_of_work(world["factory"]) as s:
        stock.adjust(s, location, world["gtin"], stock.Cause(StockCause.SYSTEM, actor="race", reason="receipt"), delta=units)


def verified_pickup(world: dict[str, Any], qty: int) -> tuple[int, int, str]:
    """A pickup order at the store, served where routing puts it, packed and verified: (order, shipment, code)."""
    factory, gtin = world["factory"], world["gtin"]
    with unit_of_work(factory) as s:
        body = OrderCreate(external_id=f"RACE-CC-{next_number()}-{uuid.uuid4().hex[:6]}", channel="web", pickup_location_id=world["store"],
                           lines=[{"gtin": gtin, "qty": qty}])
        order = take_in(s, body, OPS, Settings(routing_batch_interval_seconds=0)).order
        [shipment] = order.shipments
        ids = order.id, shipment.id, order.pickup_code, shipment.location_id
    world["orders"].append(ids[0])
    with unit_of_work(factory) as s:
        workflow.start_picking(s, ids[1], OPS)
        workflow.mark_picked(s, ids[1], OPS)
        _, _, sscc_epc = workflow.pack(s, ids[1], "pack-station-1", OPS, "0614141")
    with unit_of_work(factory) as s:
        items = [encode_sgtin96(gtin, next_number(), 7) for _ in range(qty)]
        row = verify_station(s, ids[3], "pack-station-1", [*items, sscc_epc])
        assert row is not None and row.complete
    assert ids[2] is not None
    return ids[0], ids[1], ids[2]


def ready_pickup(world: dict[str, Any], qty: int) -> tuple[int, int, str]:
    order_id, shipment_id, code = verified_pickup(world, qty)
    with unit_of_work(world["factory"]) as s:
        pickups.ready(s, shipment_id, OPS)
    return order_id, shipment_id, code


def count(world: dict[str, Any], stmt: Any) -> int:
    with world["factory"]() as s:
        return int(s.scalar(stmt) or 0)


def level(world: dict[str, Any], location: str) -> tuple[int, int, int]:
    with world["factory"]() as s:
        row = s.get(StockLevel, (location, world["gtin"]))
        assert row is not None
        return row.on_hand, row.reserved, row.quarantined


def status(world: dict[str, Any], shipment_id: int) -> ShipmentStatus:
    with world["factory"]() as s:
        shipment = s.get(Shipment, shipment_id)
        assert shipment is not None
        return shipment.status


def test_the_same_code_handed_over_at_once_hands_over_once(places: dict[str, Any]) -> None:
    stock_at(places, places["store"], 5)
    _order_id, sid, code = ready_pickup(places, 3)
    body = {"pickup_code": code, "refused": [{"gtin": places["gtin"], "qty": 1, "damaged": True, "reason": "torn"}]}
    with TestClient(places["app"]) as client:
        answers = race(THREADS, lambda _i: client.post(f"/api/v1/shipments/{sid}/handover", headers=places["headers"], json=body))
    assert [a.status_code for a in answers] == [200] * THREADS, [a.text for a in answers if a.status_code != 200][:3]
    assert len({a.text for a in answers}) == 1  # every counter got the same answer
    assert count(places, select(func.count()).select_from(Handover).where(Handover.shipment_id == sid)) == 1
    kinds = select(StockEvent.kind, func.count()).where(StockEvent.shipment_id == sid).group_by(StockEvent.kind)
    with places["factory"]() as s:
        assert dict(s.execute(kinds).all()) == {StockEventKind.RESERVATION: 1, StockEventKind.COLLECTION: 1, StockEventKind.QUARANTINE: 1}
    assert level(places, places["store"]) == (2, 0, 1)
    assert count(places, select(func.count()).select_from(DomainEvent).where(DomainEvent.shipment_id == sid, DomainEvent.kind == "pickup.collected")) == 2


def test_different_handovers_at_once_one_wins_the_others_conflict(places: dict[str, Any]) -> None:
    stock_at(places, places["store"], 4)
    _order_id, sid, code = ready_pickup(places, 2)
    bodies = [{"pickup_code": code}, {"pickup_code": code, "refused": [{"gtin": places["gtin"], "qty": 1, "reason": "wrong colour"}]}]
    with TestClient(places["app"]) as client:
        answers = race(THREADS, lambda i: client.post(f"/api/v1/shipments/{sid}/handover", headers=places["headers"], json=bodies[i % 2]))
    won = [a for a in answers if a.status_code == 200]
    lost = [a for a in answers if a.status_code == 409]
    assert len(won) + len(lost) == THREADS and won and lost, [a.status_code for a in answers]
    assert len({a.text for a in won}) == 1 and {a.json()["error"]["code"] for a in lost} == {"already_handed_over"}
    refused = won[0].json()["refused"]
    assert count(places, select(func.count()).select_from(Handover).where(Handover.shipment_id == sid)) == 1
    # Stock follows the one handover that won: 2 collected, or 1 collected and 1 back on the shelf.
    assert level(places, places["store"]) == ((2, 0, 0) if not refused else (3, 0, 0))


def test_two_sweeps_at_once_expire_once(places: dict[str, Any]) -> None:
    stock_at(places, places["store"], 6)
    order_id, sid, _code = ready_pickup(places, 2)
    with places["factory"]() as s:
        shipment = s.get(Shipment, sid)
        assert shipment is not None and shipment.expires_at is not None
        after = shipment.expires_at + timedelta(minutes=1)
    results = race(4, lambda _i: sweep(places["factory"], after, 24))
    assert sorted(sid for r in results for sid in r.expired) == [sid] and all(not r.failed for r in results), results
    assert status(places, sid) is ShipmentStatus.EXPIRED
    assert level(places, places["store"]) == (6, 0, 0)
    releases = select(func.count()).select_from(StockEvent).where(StockEvent.shipment_id == sid, StockEvent.kind == StockEventKind.RELEASE)
    assert count(places, releases) == 1
    for kind, n in (("pickup.expired", 2), ("order.cancelled", 2), ("shipment.expired", 1)):
        assert count(places, select(func.count()).select_from(DomainEvent).where(DomainEvent.order_id == order_id, DomainEvent.kind == kind)) == n, kind
    with places["factory"]() as s:
        order = s.get(Order, order_id)
        assert order is not None and order.cancel_reason == "not_collected"


def test_two_sweeps_at_once_remind_once(places: dict[str, Any]) -> None:
    stock_at(places, places["store"], 2)
    order_id, sid, _code = ready_pickup(places, 1)
    with places["factory"]() as s:
        shipment = s.get(Shipment, sid)
        assert shipment is not None and shipment.expires_at is not None
        before = shipment.expires_at - timedelta(hours=2)
    results = race(4, lambda _i: sweep(places["factory"], before, 24))
    assert sorted(x for r in results for x in r.reminded) == [sid]
    reminders = select(func.count()).select_from(DomainEvent).where(DomainEvent.order_id == order_id, DomainEvent.kind == "pickup.reminder")
    assert count(places, reminders) == 2  # the customer's and the store's, once


def test_a_parcel_received_twice_at_once_is_received_once(places: dict[str, Any]) -> None:
    stock_at(places, places["other"], 3)
    _order_id, sid, _code = verified_pickup(places, 3)
    with unit_of_work(places["factory"]) as s:
        workflow.ship(s, sid, OPS)
    assert status(places, sid) is ShipmentStatus.IN_TRANSIT
    with TestClient(places["app"]) as client:
        answers = race(THREADS, lambda _i: client.post(f"/api/v1/shipments/{sid}/receive", headers=places["headers"]))
    assert [a.status_code for a in answers] == [200] * THREADS, [a.text for a in answers if a.status_code != 200][:3]
    assert level(places, places["store"]) == (3, 3, 0)
    receipts = select(func.count()).select_from(StockEvent).where(StockEvent.shipment_id == sid, StockEvent.kind == StockEventKind.RECEIPT)
    assert count(places, receipts) == 1


def test_a_handover_racing_the_expiry_is_one_or_the_other(places: dict[str, Any]) -> None:
    stock_at(places, places["store"], 3)
    _order_id, sid, code = ready_pickup(places, 2)
    with places["factory"]() as s:
        shipment = s.get(Shipment, sid)
        assert shipment is not None and shipment.expires_at is not None
        after = shipment.expires_at + timedelta(seconds=1)
    with TestClient(places["app"]) as client:
        def work(i: int) -> Any:
            if i % 2:
                return sweep(places["factory"], after, 24)
            return client.post(f"/api/v1/shipments/{sid}/handover", headers=places["headers"], json={"pickup_code": code})

        outcomes = race(6, work)
    final = status(places, sid)
    handed = [o for o in outcomes if not hasattr(o, "expired") and o.status_code == 200]
    expired = [x for o in outcomes if hasattr(o, "expired") for x in o.expired]
    if final is ShipmentStatus.COLLECTED:
        assert expired == [] and len(handed) == 3 and level(places, places["store"]) == (1, 0, 0)
    else:
        assert final is ShipmentStatus.EXPIRED and expired == [sid] and handed == []
        assert level(places, places["store"]) == (3, 0, 0)


def test_the_service_sweeps_by_itself(engine: Engine, database_url: str, places: dict[str, Any]) -> None:
    """`serve` runs the sweep on its interval (the app's lifespan starts it): a pickup past its hold period expires
    without anyone asking, and the sweeper stops with the app."""
    import time

    from sqlalchemy import update

    from fulfil.models.base import utcnow

    stock_at(places, places["store"], 1)
    _order_id, sid, _code = ready_pickup(places, 1)
    with unit_of_work(places["factory"]) as s:  # its hold period ended a minute ago
        s.execute(update(Shipment).where(Shipment.id == sid).values(expires_at=utcnow() - timedelta(minutes=1)))
    app = create_app(quiet_settings(database_url, pickup_sweep_interval_seconds=0.05), engine=engine)
    with TestClient(app):
        deadline = time.monotonic() + 20
        while status(places, sid) is not ShipmentStatus.EXPIRED:
            assert time.monotonic() < deadline, "the service never expired the pickup"
            time.sleep(0.05)
    assert level(places, places["store"]) == (1, 0, 0)

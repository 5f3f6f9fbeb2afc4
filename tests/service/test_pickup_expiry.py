"""Pickups nobody collects: one reminder before the store's hold period ends, then expiry (units back in the store's
stock, the order cancelled as not collected). The sweep is given `now`: no test waits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from fulfil.models import LocationKind, Order, StockEventKind, TagState
from fulfil.pickups.expiry import sweep
from tests.click_and_collect import events, level, place, stock_events, tag, tag_states, verified


@pytest.fixture()
def world(
    client: TestClient, ops: dict[str, str], auth: Callable[..., dict[str, str]], make_location: Callable[..., Any],
    make_product: Callable[..., Any], stock_of: Callable[..., None], session: Session,
) -> dict[str, Any]:
    """A store holding pickups 3 days, two products; a pickup order of 2 of A there, verified, not ready yet."""
    store = make_location(kind=LocationKind.STORE, name="Grenoble", pickup_hold_days=3).id
    a, b = make_product().gtin, make_product().gtin
    stock_of(store, a, 5)
    epcs = tag(session, store, a, 2)
    order = place(client, ops, store, {a: 2})
    [shipment] = order["shipments"]
    picker = auth("picker", store)
    verified(client, picker, session, shipment, epcs)
    return {"store": store, "a": a, "b": b, "epcs": epcs, "order": order, "shipment": shipment["id"], "picker": picker}


def make_ready(client: TestClient, world: dict[str, Any]) -> datetime:
    """Ready for pickup; its expiry."""
    answer = client.post(f"/api/v1/shipments/{world['shipment']}/ready", headers=world["picker"])
    assert answer.status_code == 200, answer.text
    return datetime.fromisoformat(answer.json()["expires_at"])


def test_the_hold_period_is_the_pickup_store_s(client: TestClient, ops: dict[str, str], world: dict[str, Any]) -> None:
    assert client.get(f"/api/v1/locations/{world['store']}", headers=ops).json()["pickup_hold_days"] == 3
    expires = make_ready(client, world)
    ready_at = datetime.fromisoformat(client.get(f"/api/v1/shipments/{world['shipment']}", headers=ops).json()["ready_at"])
    assert expires - ready_at == timedelta(days=3)
    patched = client.patch(f"/api/v1/locations/{world['store']}", headers=ops, json={"pickup_hold_days": 10})
    assert patched.status_code == 200 and patched.json()["pickup_hold_days"] == 10
    for bad in (0, 91, None):
        assert client.patch(f"/api/v1/locations/{world['store']}", headers=ops, json={"pickup_hold_days": bad}).status_code == 422
    created = client.post("/api/v1/locations", headers=ops, json={"id": "ST-HOLD-14", "name": "x", "kind": "store", "lat": 45.0, "lon": 5.0,
                                                                  "pickup_hold_days": 14})
    assert created.status_code == 201 and created.json()["pickup_hold_days"] == 14
    default = client.post("/api/v1/locations", headers=ops, json={"id": "ST-HOLD-7", "name": "x", "kind": "store", "lat": 45.0, "lon": 5.0})
    assert default.json()["pickup_hold_days"] == 7
    # A pickup made ready before keeps its deadline.
    assert datetime.fromisoformat(client.get(f"/api/v1/shipments/{world['shipment']}", headers=ops).json()["expires_at"]) == expires


def test_one_reminder_before_the_end_of_the_hold_period(
    client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session, session_factory: sessionmaker[Session]
) -> None:
    expires = make_ready(client, world)
    assert sweep(session_factory, expires - timedelta(hours=25), 24).reminded == []  # not yet
    swept = sweep(session_factory, expires - timedelta(hours=23), 24)
    assert (swept.reminded, swept.expired) == ([world["shipment"]], [])
    assert sweep(session_factory, expires - timedelta(hours=1), 24).reminded == []  # once
    code = client.get(f"/api/v1/orders/{world['order']['id']}", headers=ops).json()["pickup"]["code"]
    reminders = events(session, world["order"]["id"], "pickup.reminder")
    assert sorted(r.location_id or "" for r in reminders) == ["", world["store"]]
    for_customer = next(r for r in reminders if r.location_id is None)
    assert for_customer.data["pickup_code"] == code and for_customer.data["expires_at"] == expires.isoformat()
    assert code not in repr(next(r for r in reminders if r.location_id == world["store"]).data)
    shipment = client.get(f"/api/v1/pickups?location_id={world['store']}", headers=ops).json()[0]
    assert shipment["reminded_at"] is not None
    assert level(client, ops, world["store"], world["a"]) == (5, 2, 3, 0)  # a reminder moves no stock


def test_an_uncollected_pickup_expires_its_units_return_to_stock_and_the_order_is_cancelled(
    client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session, session_factory: sessionmaker[Session]
) -> None:
    expires = make_ready(client, world)
    assert sweep(session_factory, expires - timedelta(seconds=1), 0).expired == []
    swept = sweep(session_factory, expires + timedelta(seconds=1), 0)
    assert swept.expired == [world["shipment"]] and swept.failed == []
    assert client.get(f"/api/v1/shipments/{world['shipment']}", headers=ops).json()["status"] == "expired"
    assert level(client, ops, world["store"], world["a"]) == (5, 0, 5, 0)  # sellable again
    [release] = [e for e in stock_events(session, world["shipment"]) if e.kind is StockEventKind.RELEASE]
    assert (release.reserved_delta, release.reason, release.idempotency_key) == (-2, "not_collected", f"expire:{world['shipment']}:{release_line(session, world)}")
    assert set(tag_states(session, world["epcs"]).values()) == {(TagState.IN_STOCK, world["store"], None)}
    order = client.get(f"/api/v1/orders/{world['order']['id']}", headers=ops).json()
    assert order["status"] == "cancelled"
    session.expire_all()
    stored = session.get(Order, world["order"]["id"])
    assert stored is not None and stored.cancel_reason == "not_collected"
    kinds = [(e.kind, e.location_id) for e in events(session, world["order"]["id"])]
    for kind in [("pickup.expired", world["store"]), ("pickup.expired", None), ("order.cancelled", None), ("shipment.expired", world["store"])]:
        assert kind in kinds, kind
    n = len(kinds)
    assert sweep(session_factory, expires + timedelta(days=1), 0).expired == []  # once
    assert len(events(session, world["order"]["id"])) == n
    # Its code opens nothing any more.
    assert client.post(f"/api/v1/pickups/{order['pickup']['code']}/checkin").status_code == 404


def release_line(session: Session, world: dict[str, Any]) -> int:
    from fulfil.shipments.repository import get

    shipment = get(session, world["shipment"])
    assert shipment is not None
    return shipment.lines[0].id


def test_a_pickup_collected_or_not_ready_never_expires(
    client: TestClient, ops: dict[str, str], world: dict[str, Any], session_factory: sessionmaker[Session]
) -> None:
    far = datetime.now().astimezone() + timedelta(days=30)
    assert sweep(session_factory, far, 24).expired == []  # verified, not ready: no hold period runs
    make_ready(client, world)
    code = client.get(f"/api/v1/orders/{world['order']['id']}", headers=ops).json()["pickup"]["code"]
    assert client.post(f"/api/v1/shipments/{world['shipment']}/handover", headers=world["picker"], json={"pickup_code": code}).status_code == 200
    assert sweep(session_factory, far, 24).expired == []
    assert level(client, ops, world["store"], world["a"]) == (3, 0, 3, 0)


def test_when_one_part_expires_what_has_left_still_comes(
    client: TestClient, ops: dict[str, str], auth: Callable[..., dict[str, str]], make_location: Callable[..., Any],
    make_product: Callable[..., Any], stock_of: Callable[..., None], session: Session, session_factory: sessionmaker[Session],
) -> None:
    """An order in two parts: one packed at the pickup store, one shipped from another store. The first expires while
    the second is on its way: the first's units are cancelled, the order is not (a parcel in transit cannot be)."""
    store = make_location(kind=LocationKind.STORE, lat=45.19, lon=5.72).id
    other = make_location(kind=LocationKind.STORE, lat=45.56, lon=5.92, capacity_per_day=None).id
    a, b = make_product().gtin, make_product().gtin
    stock_of(store, a, 1)
    stock_of(other, b, 1)
    order = place(client, ops, store, {a: 1, b: 1})
    parts = {s["location_id"]: s for s in order["shipments"]}
    assert set(parts) == {store, other}
    here, there = auth("picker", store), auth("picker", other)
    verified(client, here, session, parts[store])
    verified(client, there, session, parts[other])
    assert client.post(f"/api/v1/shipments/{parts[other]['id']}/ship", headers=there).status_code == 200
    ready = client.post(f"/api/v1/shipments/{parts[store]['id']}/ready", headers=here).json()
    assert client.get(f"/api/v1/orders/{order['id']}", headers=ops).json()["status"] == "fulfilling"  # not every part is ready
    swept = sweep(session_factory, datetime.fromisoformat(ready["expires_at"]) + timedelta(seconds=1), 24)
    assert swept.expired == [parts[store]["id"]]
    now = client.get(f"/api/v1/orders/{order['id']}", headers=ops).json()
    assert now["status"] == "fulfilling"
    assert {s["id"]: s["status"] for s in now["shipments"]} == {parts[store]["id"]: "expired", parts[other]["id"]: "in_transit"}
    assert level(client, ops, store, a) == (1, 0, 1, 0)
    # The rest arrives and is collected: the order is complete with what was collected.
    assert client.post(f"/api/v1/shipments/{parts[other]['id']}/receive", headers=here).status_code == 200
    assert client.post(f"/api/v1/shipments/{parts[other]['id']}/ready", headers=here).status_code == 200
    handed = client.post(f"/api/v1/shipments/{parts[other]['id']}/handover", headers=here, json={"pickup_code": order["pickup"]["code"]})
    assert handed.status_code == 200 and handed.json()["order_status"] == "collected", handed.text


def test_the_sweep_command(fresh_database_url: str, tmp_path: Any) -> None:
    """`fulfil pickups sweep --now` in a real process on a database holding a ready pickup: it expires it, once."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from fulfil.auth.service import Principal
    from fulfil.config import Settings
    from fulfil.db import make_engine, make_session_factory, unit_of_work
    from fulfil.migrate import upgrade_engine
    from fulfil.models import Location, Product, Role, StockCause
    from fulfil.orders.schemas import OrderCreate
    from fulfil.orders.service import take_in
    from fulfil.pickups import service as pickups
    from fulfil.shipments import workflow
    from fulfil.shipments.verification import verify_station
    from fulfil.stock import service as stock
    from rfid.epc import encode_sgtin96
    from tests.factories import make_gtin

    ops = Principal(token_id=0, name="test", role=Role.OPS, location_id=None)
    engine = make_engine(fresh_database_url)
    try:
        upgrade_engine(engine)
        factory = make_session_factory(engine)
        gtin = make_gtin()
        with unit_of_work(factory) as s:
            s.add(Location(id="ST-CLI", name="CLI store", kind=LocationKind.STORE, lat=45.0, lon=5.0))
            s.add(Product(gtin=gtin, name="cli product", company_prefix_length=7))
        with unit_of_work(factory) as s:
            stock.adjust(s, "ST-CLI", gtin, stock.Cause(StockCause.SYSTEM, actor="test", reason="receipt"), delta=3)
            order = take_in(s, OrderCreate(external_id="CLI-1", channel="web", pickup_location_id="ST-CLI", lines=[{"gtin": gtin, "qty": 1}]),
                            ops, Settings(routing_batch_interval_seconds=0)).order
            sid = order.shipments[0].id
        with unit_of_work(factory) as s:
            workflow.start_picking(s, sid, ops)
            workflow.mark_picked(s, sid, ops)
            _, _, sscc_epc = workflow.pack(s, sid, "pack-station-1", ops, "0614141")
            assert verify_station(s, "ST-CLI", "pack-station-1", [encode_sgtin96(gtin, 1, 7), sscc_epc]) is not None
        with unit_of_work(factory) as s:
            expires = pickups.ready(s, sid, ops).expires_at
        assert expires is not None
        env = {**os.environ, "FULFIL_DATABASE_URL": fresh_database_url, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        command = [sys.executable, "-m", "fulfil.cli", "pickups", "sweep", "--now", (expires + timedelta(minutes=1)).isoformat()]
        first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout) == {"reminded": [], "expired": [sid], "failed": []}
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert json.loads(again.stdout) == {"reminded": [], "expired": [], "failed": []}
        bad = subprocess.run([*command[:-1], "tomorrow"], env=env, capture_output=True, text=True, timeout=120)
        assert bad.returncode == 2 and "ISO 8601" in bad.stderr
        with factory() as s:
            stored = s.get(Order, order.id)
            assert stored is not None and (stored.status.value, stored.cancel_reason) == ("cancelled", "not_collected")
    finally:
        engine.dispose()

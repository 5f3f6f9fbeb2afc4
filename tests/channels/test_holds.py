"""Checkout holds: a quote turned into reserved units, taken by the order that names it, released by the channel or
expired by the sweep exactly once; always in the stock event log and the stock invariant (checked after each test)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fulfil.holds.service import sweep
from fulfil.models import HoldStatus, StockEvent, StockHold, StockLevel

PROMISE = "/api/v1/promise"


def level(session: Session, location_id: str, gtin: str) -> tuple[int, int]:
    session.expire_all()
    row = session.get(StockLevel, (location_id, gtin))
    assert row is not None
    return row.on_hand, row.reserved


def hold_basket(client: TestClient, headers: dict[str, str], gtin: str, qty: int, **where: Any) -> dict[str, Any]:
    where = where or {"ship_to": {"lat": 45.75, "lon": 4.85}}
    response = client.post(PROMISE, headers=headers, json={"lines": [{"gtin": gtin, "qty": qty}], "hold_seconds": 600, **where})
    assert response.status_code == 200, response.text
    hold = response.json()["hold"]
    assert hold is not None
    return hold


def test_a_hold_reserves_and_the_order_takes_exactly_its_units(
    client: TestClient, auth: Callable[..., dict[str, str]], make_location: Callable[..., Any], make_product: Callable[..., Any],
    stock_of: Callable[..., None], session: Session,
) -> None:
    store = make_location(lat=45.76, lon=4.84)
    gtin = make_product().gtin
    stock_of(store.id, gtin, 3)
    channel = auth("channel")
    hold = hold_basket(client, channel, gtin, 2)
    assert hold["status"] == "active" and hold["option_id"] == "delivery:standard"
    assert hold["lines"] == [{"location_id": store.id, "gtin": gtin, "qty": 2}]
    assert level(session, store.id, gtin) == (3, 2)
    availability = client.get("/api/v1/availability", params={"gtin": gtin}, headers=channel).json()
    assert availability["network"]["available"] == 1  # the next shopper sees only what is not held
    order = client.post("/api/v1/orders", headers=channel, json={
        "external_id": "HOLD-1", "channel": "web", "hold_id": hold["id"], "lines": [{"gtin": gtin, "qty": 2}],
        "ship_to": {"lat": 45.75, "lon": 4.85},
    })
    assert order.status_code == 201, order.text
    [shipment] = order.json()["shipments"]
    assert shipment["location_id"] == store.id and order.json()["status"] == "routed"
    assert level(session, store.id, gtin) == (3, 2)  # the hold's units passed to the shipment
    after = client.get(f"/api/v1/holds/{hold['id']}", headers=channel).json()
    assert after["status"] == "consumed" and after["order_id"] == order.json()["id"]
    routing = client.get(f"/api/v1/orders/{order.json()['id']}/routing", headers=auth("ops")).json()
    assert "checkout hold" in str(routing)
    # The log tells the story: reserved for the hold, released to the order, reserved for the shipment.
    events = session.scalars(select(StockEvent).where(StockEvent.gtin == gtin, StockEvent.reserved_delta != 0).order_by(StockEvent.id)).all()
    assert [(e.reserved_delta, e.hold_id is not None, e.shipment_id is not None) for e in events] == [(2, True, False), (-2, True, False), (2, False, True)]
    # The same request again replays the order; the hold cannot be used by another.
    replay = client.post("/api/v1/orders", headers=channel, json={
        "external_id": "HOLD-1", "channel": "web", "hold_id": hold["id"], "lines": [{"gtin": gtin, "qty": 2}],
        "ship_to": {"lat": 45.75, "lon": 4.85},
    })
    assert replay.status_code == 200 and replay.json()["id"] == order.json()["id"]
    again = client.post("/api/v1/orders", headers=channel, json={
        "external_id": "HOLD-2", "channel": "web", "hold_id": hold["id"], "lines": [{"gtin": gtin, "qty": 1}],
        "ship_to": {"lat": 45.75, "lon": 4.85},
    })
    assert again.status_code == 409 and again.json()["error"]["code"] == "hold_consumed"
    assert client.delete(f"/api/v1/holds/{hold['id']}", headers=channel).json()["error"]["code"] == "hold_consumed"


def test_an_order_larger_than_its_hold_is_routed_for_the_rest_and_a_smaller_one_frees_the_rest(
    client: TestClient, auth: Callable[..., dict[str, str]], make_location: Callable[..., Any], make_product: Callable[..., Any],
    stock_of: Callable[..., None], session: Session,
) -> None:
    store = make_location(lat=45.76, lon=4.84)
    gtin = make_product().gtin
    stock_of(store.id, gtin, 5)
    channel = auth("channel")
    small = hold_basket(client, channel, gtin, 3)
    order = client.post("/api/v1/orders", headers=channel, json={
        "external_id": "HOLD-S", "channel": "web", "hold_id": small["id"], "lines": [{"gtin": gtin, "qty": 1}], "ship_to": {"lat": 45.75, "lon": 4.85},
    })
    assert order.status_code == 201 and sum(sl["qty"] for s in order.json()["shipments"] for sl in s["lines"]) == 1
    assert level(session, store.id, gtin) == (5, 1)  # the two held units the order did not need are free again
    big = hold_basket(client, channel, gtin, 2)
    order = client.post("/api/v1/orders", headers=channel, json={
        "external_id": "HOLD-B", "channel": "web", "hold_id": big["id"], "lines": [{"gtin": gtin, "qty": 4}], "ship_to": {"lat": 45.75, "lon": 4.85},
    })
    assert order.status_code == 201 and order.json()["status"] == "routed"
    assert level(session, store.id, gtin) == (5, 5)


def test_a_hold_keeps_its_kind_of_promise_and_its_owner(
    client: TestClient, auth: Callable[..., dict[str, str]], make_location: Callable[..., Any], make_product: Callable[..., Any],
    stock_of: Callable[..., None],
) -> None:
    store, other = make_location(lat=45.76, lon=4.84), make_location(lat=45.77, lon=4.85)
    gtin = make_product().gtin
    stock_of(store.id, gtin, 5)
    channel, rival = auth("channel"), auth("channel")
    pickup = hold_basket(client, channel, gtin, 1, pickup_location_id=store.id)
    assert pickup["option_id"] == f"pickup:{store.id}"
    base = {"channel": "web", "hold_id": pickup["id"], "lines": [{"gtin": gtin, "qty": 1}]}
    home = client.post("/api/v1/orders", headers=channel, json={**base, "external_id": "HM-1", "ship_to": {"lat": 45.75, "lon": 4.85}})
    assert home.status_code == 409 and home.json()["error"]["code"] == "hold_mismatch"
    elsewhere = client.post("/api/v1/orders", headers=channel, json={**base, "external_id": "HM-2", "pickup_location_id": other.id})
    assert elsewhere.status_code == 409 and elsewhere.json()["error"]["code"] == "hold_mismatch"
    # Another channel's token: the hold does not exist for it.
    stolen = client.post("/api/v1/orders", headers=rival, json={**base, "external_id": "HM-3", "pickup_location_id": store.id})
    assert stolen.status_code == 404
    assert client.get(f"/api/v1/holds/{pickup['id']}", headers=rival).status_code == 404
    assert client.delete(f"/api/v1/holds/{pickup['id']}", headers=rival).status_code == 404
    ok = client.post("/api/v1/orders", headers=channel, json={**base, "external_id": "HM-4", "pickup_location_id": store.id})
    assert ok.status_code == 201, ok.text
    assert ok.json()["pickup"]["code"]  # the channel tells the customer their pickup code


def test_a_released_hold_gives_its_units_back_once(
    client: TestClient, auth: Callable[..., dict[str, str]], make_location: Callable[..., Any], make_product: Callable[..., Any],
    stock_of: Callable[..., None], session: Session,
) -> None:
    store = make_location()
    gtin = make_product().gtin
    stock_of(store.id, gtin, 2)
    channel = auth("channel")
    hold = hold_basket(client, channel, gtin, 2)
    assert level(session, store.id, gtin) == (2, 2)
    for _ in range(2):
        released = client.delete(f"/api/v1/holds/{hold['id']}", headers=channel)
        assert released.status_code == 200 and released.json()["status"] == "released"
    assert level(session, store.id, gtin) == (2, 0)
    late = client.post("/api/v1/orders", headers=channel, json={
        "external_id": "REL-1", "channel": "web", "hold_id": hold["id"], "lines": [{"gtin": gtin, "qty": 1}], "ship_to": {"lat": 45.75, "lon": 4.85},
    })
    assert late.status_code == 409 and late.json()["error"]["code"] == "hold_released"


def test_an_expired_hold_is_refused_and_the_sweep_releases_it_exactly_once(
    client: TestClient, auth: Callable[..., dict[str, str]], make_location: Callable[..., Any], make_product: Callable[..., Any],
    stock_of: Callable[..., None], session: Session, session_factory: sessionmaker[Session],
) -> None:
    store = make_location()
    gtin = make_product().gtin
    stock_of(store.id, gtin, 1)
    channel = auth("channel")
    response = client.post(PROMISE, headers=channel, json={"lines": [{"gtin": gtin, "qty": 1}], "ship_to": {"lat": 45.75, "lon": 4.85}, "hold_seconds": 1})
    hold = response.json()["hold"]
    expires = datetime.fromisoformat(hold["expires_at"])
    assert expires - datetime.fromisoformat(response.json()["quoted_at"]) == timedelta(seconds=1)
    assert sweep(session_factory, expires - timedelta(milliseconds=1)).expired == []  # not yet due
    row = session.scalars(select(StockHold).where(StockHold.public_id == hold["id"])).one()
    row.expires_at = datetime.fromisoformat(response.json()["quoted_at"]) - timedelta(seconds=1)  # as if a second went by
    session.commit()
    late = client.post("/api/v1/orders", headers=channel, json={
        "external_id": "EXP-1", "channel": "web", "hold_id": hold["id"], "lines": [{"gtin": gtin, "qty": 1}], "ship_to": {"lat": 45.75, "lon": 4.85},
    })
    assert late.status_code == 409 and late.json()["error"]["code"] == "hold_expired"
    assert level(session, store.id, gtin) == (1, 1)  # refused, nothing changed: the sweep releases it
    first, second = sweep(session_factory, expires), sweep(session_factory, expires)
    assert first.expired == [hold["id"]] and second.expired == []
    assert level(session, store.id, gtin) == (1, 0)
    session.expire_all()
    assert session.scalars(select(StockHold.status).where(StockHold.public_id == hold["id"])).one() is HoldStatus.EXPIRED


def test_nothing_to_hold_or_the_option_gone_is_a_conflict_naming_what_remains(
    client: TestClient, ops: dict[str, str], make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> None:
    store = make_location()
    gtin = make_product().gtin
    stock_of(store.id, gtin, 1)
    nothing = client.post(PROMISE, headers=ops, json={"lines": [{"gtin": gtin, "qty": 2}], "ship_to": {"lat": 45.75, "lon": 4.85}, "hold_seconds": 60})
    assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "insufficient_stock"
    gone = client.post(PROMISE, headers=ops, json={
        "lines": [{"gtin": gtin, "qty": 1}], "ship_to": {"lat": 45.75, "lon": 4.85}, "hold_seconds": 60, "hold_option": "pickup:ELSEWHERE",
    })
    assert gone.status_code == 409 and gone.json()["error"]["details"]["options"] == ["delivery:standard"]


def test_a_hold_longer_than_the_cap_is_shortened_to_it(
    client: TestClient, auth: Callable[..., dict[str, str]], make_location: Callable[..., Any], make_product: Callable[..., Any],
    stock_of: Callable[..., None],
) -> None:
    store = make_location()
    gtin = make_product().gtin
    stock_of(store.id, gtin, 1)
    response = client.post(PROMISE, headers=auth("channel"), json={
        "lines": [{"gtin": gtin, "qty": 1}], "ship_to": {"lat": 45.75, "lon": 4.85}, "hold_seconds": 7200,
    })
    body = response.json()
    expires = datetime.fromisoformat(body["hold"]["expires_at"])
    assert expires - datetime.fromisoformat(body["quoted_at"]) == timedelta(seconds=3600)  # FULFIL_HOLD_MAX_SECONDS

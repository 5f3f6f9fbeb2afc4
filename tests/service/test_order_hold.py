"""Ops hold an order: no picking starts and nothing ships until the hold ends or is released; stock stays reserved."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fulfil.models import LocationKind, Order
from tests.service.flows import act, journal, level, place, shipment_at, tasks


@pytest.fixture()
def world(make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None],
          auth: Callable[..., dict[str, str]]) -> dict[str, Any]:
    store = make_location(kind=LocationKind.STORE, lat=45.0, lon=4.0, capacity_per_day=20).id
    gtin = make_product().gtin
    stock_of(store, gtin, 5)
    return {"store": store, "gtin": gtin, "picker": auth("picker", store)}


def test_a_held_order_is_not_started_until_released(client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session) -> None:
    order = place(client, ops, {world["gtin"]: 2})
    sid = shipment_at(order, world["store"])["id"]
    held = client.post(f"/api/v1/orders/{order['id']}/hold", headers=ops, json={"reason": "fraud check"})
    assert held.status_code == 200 and held.json()["hold_reason"] == "fraud check" and held.json()["held_until"] is None
    assert held.json()["held_at"] is not None
    assert client.post(f"/api/v1/orders/{order['id']}/hold", headers=world["picker"], json={"reason": "mine"}).status_code == 403
    assert not [t for t in tasks(client, ops, world["store"], "pick") if t["order_id"] == order["id"]]  # not offered
    refused = client.post(f"/api/v1/shipments/{sid}/start", headers=world["picker"])
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "order_on_hold"
    assert "fraud check" in refused.json()["error"]["message"]
    assert level(client, ops, world["store"], world["gtin"])["reserved"] == 2  # the units wait for it
    released = client.post(f"/api/v1/orders/{order['id']}/release-hold", headers=ops)
    assert released.status_code == 200 and released.json()["held_at"] is None
    assert [t["order_id"] for t in tasks(client, ops, world["store"], "pick") if t["order_id"] == order["id"]] == [order["id"]]
    assert act(client, world["picker"], sid, "start")["status"] == "picking"
    kinds = [e.kind for e in journal(session, order["id"]) if e.kind.startswith("order.h")]
    assert kinds[0] == "order.held" and kinds[-1] == "order.hold_released"


def test_a_hold_with_an_end_lapses_by_itself_and_stops_shipping_meanwhile(
    client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session,
) -> None:
    order = place(client, ops, {world["gtin"]: 1})
    sid = shipment_at(order, world["store"])["id"]
    for step in ("start", "picked"):
        act(client, world["picker"], sid, step)
    until = datetime.now(UTC) + timedelta(hours=2)
    held = client.post(f"/api/v1/orders/{order['id']}/hold", headers=ops, json={"reason": "customer asked to wait", "until": until.isoformat()})
    assert held.status_code == 200 and datetime.fromisoformat(held.json()["held_until"]) == until
    [task] = [t for t in tasks(client, ops, world["store"], "pick") if t["order_id"] == order["id"]]
    assert task["detail"]["on_hold"] == "customer asked to wait"  # started work stays in the queue, marked
    act(client, world["picker"], sid, "pack", station="pack-station-1")
    assert client.post(f"/api/v1/shipments/{sid}/override", headers=world["picker"], json={"reason": "no tags"}).status_code == 200
    refused = client.post(f"/api/v1/shipments/{sid}/ship", headers=world["picker"])
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "order_on_hold"
    session.get(Order, order["id"]).held_until = datetime.now(UTC) - timedelta(seconds=1)  # as time passes
    session.commit()
    assert act(client, world["picker"], sid, "ship")["status"] == "shipped"


def test_what_cannot_be_held(client: TestClient, ops: dict[str, str], world: dict[str, Any]) -> None:
    order = place(client, ops, {world["gtin"]: 1})
    past = client.post(f"/api/v1/orders/{order['id']}/hold", headers=ops, json={"reason": "late", "until": "2020-01-01T00:00:00Z"})
    assert past.status_code == 409 and past.json()["error"]["code"] == "hold_already_over"
    assert client.post(f"/api/v1/orders/{order['id']}/hold", headers=ops, json={"reason": "x"}).status_code == 422  # say why
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=ops, json={"reason": "customer"}).status_code == 200
    finished = client.post(f"/api/v1/orders/{order['id']}/hold", headers=ops, json={"reason": "too late"})
    assert finished.status_code == 409 and finished.json()["error"]["code"] == "order_finished"
    assert client.post("/api/v1/orders/987654/hold", headers=ops, json={"reason": "nobody"}).status_code == 404

"""The channel token: web orders only, its own orders only, nothing of anyone else's; and availability answered by
several API processes is the database's at that moment (no process keeps a copy that could lag)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from fulfil.db import make_engine
from fulfil.models import Location, StockLevel
from fulfil.stock.rules import available
from tests.service.test_cli import run, seeded_token, serving


def test_a_channel_places_web_orders_and_sees_only_its_own(
    client: TestClient, auth: Callable[..., dict[str, str]], make_location: Callable[..., Any], make_product: Callable[..., Any],
    stock_of: Callable[..., None], ops: dict[str, str],
) -> None:
    store = make_location()
    gtin = make_product().gtin
    stock_of(store.id, gtin, 10)
    shop, other_shop = auth("channel"), auth("channel")
    body = {"external_id": "CH-1", "channel": "web", "pickup_location_id": store.id, "lines": [{"gtin": gtin, "qty": 1}]}
    mine = client.post("/api/v1/orders", headers=shop, json=body)
    assert mine.status_code == 201 and mine.json()["pickup"]["code"]
    theirs = client.post("/api/v1/orders", headers=other_shop, json={**body, "external_id": "CH-2"}).json()
    by_ops = client.post("/api/v1/orders", headers=ops, json={**body, "external_id": "CH-3"}).json()
    assert [o["external_id"] for o in client.get("/api/v1/orders", headers=shop).json()] == ["CH-1"]
    assert client.get(f"/api/v1/orders/{theirs['id']}", headers=shop).status_code == 404
    assert client.get(f"/api/v1/orders/{by_ops['id']}", headers=shop).status_code == 404
    # Another's order id is merely taken: not which order holds it.
    taken = client.post("/api/v1/orders", headers=shop, json={**body, "external_id": "CH-2", "lines": [{"gtin": gtin, "qty": 2}]})
    assert taken.status_code == 409 and "order_id" not in str(taken.json()["error"]["details"])
    same_body = client.post("/api/v1/orders", headers=shop, json={**body, "external_id": "CH-2"})
    assert same_body.status_code == 409
    # A retry of its own order replays it.
    assert client.post("/api/v1/orders", headers=shop, json=body).status_code == 200
    store_order = client.post("/api/v1/orders", headers=shop, json={**body, "external_id": "CH-4", "channel": "store"})
    assert store_order.status_code == 403
    endless_aisle = client.post("/api/v1/orders", headers=shop, json={**body, "external_id": "CH-5", "origin_location_id": store.id})
    assert endless_aisle.status_code == 403
    for path in ("/api/v1/stock", f"/api/v1/locations/{store.id}", "/api/v1/shipments", "/api/v1/pickups", f"/api/v1/orders/{mine.json()['id']}/routing"):
        assert client.get(path, headers=shop).status_code == 403, path
    assert client.post(f"/api/v1/orders/{mine.json()['id']}/cancel", headers=shop, json={"reason": "x"}).status_code == 403


@contextmanager
def two_servers(url: str) -> Iterator[tuple[str, str, dict[str, str], dict[str, str], Engine]]:
    """Two `fulfil serve` processes on one seeded demo database: their base URLs, an ops and a channel token's
    headers, and an engine for checking the database (or changing it behind both)."""
    env = {**os.environ, "FULFIL_DATABASE_URL": url, "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
           "FULFIL_ROUTING_BATCH_INTERVAL_SECONDS": "0", "FULFIL_HOLD_SWEEP_INTERVAL_SECONDS": "0"}
    ops = {"Authorization": f"Bearer {seeded_token(env)}"}
    channel = {"Authorization": f"Bearer {run(['token', 'create', '--role', 'channel'], env).stdout.strip()}"}
    engine = make_engine(url)
    try:
        with serving(env) as (first, _a), serving(env) as (second, _b):
            yield first, second, ops, channel, engine
    finally:
        engine.dispose()


def test_availability_from_two_api_processes_is_the_database_after_every_change(fresh_database_url: str) -> None:
    with two_servers(fresh_database_url) as (first, second, ops, channel, engine):
        levels = httpx.get(f"{first}/api/v1/stock", params={"location_id": "ST-LYON-01"}, headers=ops).json()
        gtin = next(level["gtin"] for level in levels if level["available"] >= 3)

        def truth() -> dict[str, int]:
            with engine.connect() as conn:
                rows = conn.execute(select(StockLevel.location_id, StockLevel.on_hand, StockLevel.reserved, StockLevel.safety).where(StockLevel.gtin == gtin))
                return {loc: available(on_hand, reserved, safety) for loc, on_hand, reserved, safety in rows if available(on_hand, reserved, safety) > 0}

        def seen(base: str) -> dict[str, int]:
            body = httpx.get(f"{base}/api/v1/availability", params={"gtin": gtin}, headers=channel).json()
            return {row["location_id"]: row["available"] for row in body["locations"] if row["available"] > 0}

        holds = []
        for step in range(12):
            writer, reader = (first, second) if step % 2 == 0 else (second, first)
            if step % 3 == 0:
                adjusted = httpx.post(f"{writer}/api/v1/stock/adjustments", headers=ops, json={
                    "location_id": "ST-LYON-01", "gtin": gtin, "delta": 2, "reason": "receipt"})
                assert adjusted.status_code == 201, adjusted.text
            elif step % 3 == 1:
                held = httpx.post(f"{writer}/api/v1/promise", headers=channel, json={
                    "lines": [{"gtin": gtin, "qty": 1}], "pickup_location_id": "ST-LYON-01", "hold_seconds": 600})
                assert held.status_code == 200, held.text
                holds.append(held.json()["hold"]["id"])
            else:
                assert httpx.delete(f"{writer}/api/v1/holds/{holds.pop()}", headers=channel).status_code == 200
            # The change is committed before its answer left the writer: the other process shows it at once.
            expected = truth()
            assert seen(reader) == expected, step
            assert seen(writer) == expected, step


def test_location_changes_reach_every_api_process_at_once(fresh_database_url: str) -> None:
    """Each process keeps a copy of the locations (fulfil.locations.index); a change made through one process, or by
    SQL behind both, is in the other's very next answer: availability, nearest stores, pickup quotes and their dates."""
    with two_servers(fresh_database_url) as (first, second, ops, channel, engine):
        store = httpx.get(f"{first}/api/v1/locations/ST-LYON-01", headers=ops).json()
        levels = httpx.get(f"{first}/api/v1/stock", params={"location_id": store["id"]}, headers=ops).json()
        gtin = next(level["gtin"] for level in levels if level["available"] >= 1)
        near = f"{store['lat']},{store['lon']}"

        def listed(base: str) -> dict[str, str]:
            body = httpx.get(f"{base}/api/v1/availability", params={"gtin": gtin, "near": near, "radius_km": 5}, headers=channel).json()
            return {row["location_id"]: row["name"] for row in body["locations"]}

        def pickup(base: str) -> httpx.Response:
            return httpx.post(f"{base}/api/v1/promise", headers=channel, json={"lines": [{"gtin": gtin, "qty": 1}], "pickup_location_id": store["id"]})

        for base in (first, second):  # both processes hold a copy now
            assert listed(base)[store["id"]] == store["name"]
            assert pickup(base).status_code == 200

        renamed = httpx.patch(f"{first}/api/v1/locations/{store['id']}", headers=ops, json={"name": "Lyon Part-Dieu (renamed)"})
        assert renamed.status_code == 200, renamed.text
        assert listed(second)[store["id"]] == "Lyon Part-Dieu (renamed)"

        # Opening hours that never open within the calendar's lookahead: no pickup date can be promised there.
        closed = {"mon": [], "tue": [], "wed": [], "thu": [], "fri": [], "sat": [], "sun": []}
        assert httpx.patch(f"{second}/api/v1/locations/{store['id']}", headers=ops, json={"opening_hours": closed}).status_code == 200
        assert [o["option_id"] for o in pickup(first).json()["options"]] == []
        assert httpx.patch(f"{first}/api/v1/locations/{store['id']}", headers=ops, json={"opening_hours": None}).status_code == 200
        assert [o["option_id"] for o in pickup(second).json()["options"]] == [f"pickup:{store['id']}"]

        # Closed by SQL behind both processes' backs: the trigger still tells them.
        with engine.begin() as conn:
            conn.execute(update(Location).where(Location.id == store["id"]).values(active=False))
        for base in (first, second):
            assert store["id"] not in listed(base)
            assert pickup(base).status_code == 404

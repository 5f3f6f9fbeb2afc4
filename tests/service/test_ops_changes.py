"""GET /ops/changes: the console's version, which its live updates poll. It changes when a decision is made or
something is journalled or a location changes, stays the same otherwise, and is refused without an ops sign-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from fulfil.models import LocationKind
from tests.service.flows import place


def test_the_version_moves_with_what_the_console_shows(
    client: TestClient, ops: dict[str, str], auth: Callable[..., dict[str, str]], make_location: Callable[..., Any],
    make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> None:
    store = make_location(kind=LocationKind.STORE, lat=45.0, lon=4.0).id
    gtin = make_product().gtin
    stock_of(store, gtin, 5)
    assert client.get("/ops/changes").status_code == 401
    assert client.post("/ops", data={"token": auth("picker", store)["Authorization"].split()[1]}).status_code == 401  # ops only
    assert client.get("/ops/changes").status_code == 401
    assert client.post("/ops", data={"token": ops["Authorization"].split()[1]}, follow_redirects=False).status_code == 303

    def version() -> str:
        answer = client.get("/ops/changes")
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
        value: str = answer.json()["version"]
        return value

    before = version()
    assert version() == before  # nothing happened
    assert f'data-version="{before}"' in client.get("/ops").text  # the page starts from the version it shows
    order = place(client, ops, {gtin: 1})
    after_order = version()
    assert after_order != before
    assert client.post(f"/api/v1/orders/{order['id']}/hold", headers=ops, json={"reason": "fraud check"}).status_code == 200
    after_hold = version()
    assert after_hold != after_order
    assert client.patch(f"/api/v1/locations/{store}", headers=ops, json={"paused_until": "2099-01-01T00:00:00Z"}).status_code == 200
    assert version() != after_hold

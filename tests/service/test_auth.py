"""Every API route needs a token, and each role is refused what it may not do.

The access table below must name every route the app serves: a new route without an entry fails
`test_every_route_is_in_the_access_table`, so no route can ship without its auth test."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fulfil.app import create_app
from fulfil.auth.service import hash_secret
from fulfil.config import Settings
from fulfil.models import ApiToken, Role

OPS, PICKER, DEVICE, CHANNEL = "ops", "picker", "device", "channel"
# The customer's curbside check-in, order tracking and the store app's sign-in take no token: the pickup code (or
# tracking token, or staff PIN) and a limit of failed attempts guard them (tests/service/test_pickup_checkin.py,
# tests/service/test_tracking.py, tests/service/test_staff_sign_in.py).
PUBLIC = {"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/api/v1/pickups/{code}/checkin",
          "/api/v1/track/{code}", "/api/v1/store/sign-in"}

# (method, path) -> roles that may call it. Everything else must be refused with 403.
ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/api/v1/me"): {OPS, PICKER, DEVICE, CHANNEL},
    ("GET", "/metrics"): {OPS},
    ("GET", "/api/v1/ops/kpis"): {OPS},
    ("POST", "/api/v1/ops/whatif"): {OPS},
    ("POST", "/api/v1/orders/{order_id}/hold"): {OPS},
    ("POST", "/api/v1/orders/{order_id}/release-hold"): {OPS},
    ("GET", "/api/v1/routing/decisions"): {OPS},
    ("GET", "/api/v1/routing/decisions/{decision_id}"): {OPS},  # Prometheus scrapes with an ops token (docs/operations.md)
    ("GET", "/api/v1/tokens"): {OPS},
    ("POST", "/api/v1/tokens"): {OPS},
    ("DELETE", "/api/v1/tokens/{token_id}"): {OPS},
    ("GET", "/api/v1/staff"): {OPS},
    ("POST", "/api/v1/staff"): {OPS},
    ("PATCH", "/api/v1/staff/{staff_id}"): {OPS},
    ("POST", "/api/v1/store/sign-out"): {PICKER},
    ("GET", "/api/v1/pick-lists"): {OPS, PICKER},
    ("POST", "/api/v1/pick-lists/scans"): {OPS, PICKER},
    ("GET", "/api/v1/locations"): {OPS, PICKER},
    ("POST", "/api/v1/locations"): {OPS},
    ("GET", "/api/v1/locations/{location_id}"): {OPS, PICKER},
    ("PATCH", "/api/v1/locations/{location_id}"): {OPS},
    ("GET", "/api/v1/products"): {OPS, PICKER},
    ("POST", "/api/v1/products"): {OPS},
    ("GET", "/api/v1/products/{gtin}"): {OPS, PICKER},
    ("PATCH", "/api/v1/products/{gtin}"): {OPS},
    ("GET", "/api/v1/stock"): {OPS, PICKER},
    ("GET", "/api/v1/stock/events"): {OPS, PICKER},
    ("POST", "/api/v1/stock/adjustments"): {OPS},
    ("POST", "/api/v1/stock/quarantine"): {OPS},
    ("GET", "/api/v1/stock/{location_id}/{gtin}"): {OPS, PICKER},
    ("PUT", "/api/v1/stock/{location_id}/{gtin}/safety"): {OPS},
    ("GET", "/api/v1/orders"): {OPS, PICKER, CHANNEL},
    ("POST", "/api/v1/orders"): {OPS, PICKER, CHANNEL},
    ("GET", "/api/v1/orders/{order_id}"): {OPS, PICKER, CHANNEL},
    ("GET", "/api/v1/orders/{order_id}/routing"): {OPS, PICKER},
    ("POST", "/api/v1/orders/{order_id}/reroute"): {OPS},
    ("POST", "/api/v1/orders/{order_id}/cancel"): {OPS, PICKER},
    ("GET", "/api/v1/shipments"): {OPS, PICKER},
    ("GET", "/api/v1/shipments/{shipment_id}"): {OPS, PICKER},
    ("POST", "/api/v1/shipments/{shipment_id}/reject"): {OPS, PICKER},
    ("POST", "/api/v1/shipments/{shipment_id}/short"): {OPS, PICKER},
    ("POST", "/api/v1/shipments/{shipment_id}/start"): {OPS, PICKER},
    ("POST", "/api/v1/shipments/{shipment_id}/picked"): {OPS, PICKER},
    ("POST", "/api/v1/shipments/{shipment_id}/scans"): {OPS, PICKER},
    ("POST", "/api/v1/shipments/{shipment_id}/release"): {OPS, PICKER},
    ("POST", "/api/v1/shipments/{shipment_id}/pack"): {OPS, PICKER},
    ("GET", "/api/v1/shipments/{shipment_id}/verification"): {OPS, PICKER},
    ("POST", "/api/v1/shipments/{shipment_id}/override"): {OPS, PICKER},
    ("POST", "/api/v1/shipments/{shipment_id}/ship"): {OPS, PICKER},
    ("POST", "/api/v1/shipments/{shipment_id}/receive"): {OPS, PICKER},
    ("POST", "/api/v1/shipments/{shipment_id}/ready"): {OPS, PICKER},
    ("POST", "/api/v1/shipments/{shipment_id}/handover"): {OPS, PICKER},
    ("GET", "/api/v1/pickups"): {OPS, PICKER},
    ("POST", "/api/v1/pickups/receive"): {OPS, PICKER},
    ("POST", "/api/v1/routing/runs"): {OPS},
    ("GET", "/api/v1/routing/runs"): {OPS},
    ("GET", "/api/v1/routing/runs/{run_id}"): {OPS},
    ("GET", "/api/v1/routing/instance"): {OPS},
    ("POST", "/api/v1/ingest/payloads"): {OPS, DEVICE},
    ("GET", "/api/v1/ingest/status"): {OPS},
    ("GET", "/api/v1/locations/{location_id}/stream"): {OPS, PICKER},
    ("POST", "/api/v1/sales"): {OPS, PICKER},
    ("GET", "/api/v1/tags/{epc}"): {OPS, PICKER},
    ("GET", "/api/v1/stores/{location_id}/tasks"): {OPS, PICKER},
    ("POST", "/api/v1/stores/{location_id}/tasks/{task_id}/done"): {OPS, PICKER},
    ("POST", "/api/v1/returns"): {OPS, PICKER},
    ("GET", "/api/v1/returns"): {OPS, PICKER},
    ("GET", "/api/v1/returns/{return_id}"): {OPS, PICKER},
    ("GET", "/api/v1/availability"): {OPS, CHANNEL},
    ("POST", "/api/v1/availability/query"): {OPS, CHANNEL},
    ("POST", "/api/v1/promise"): {OPS, CHANNEL},
    ("GET", "/api/v1/holds/{hold_id}"): {OPS, CHANNEL},
    ("DELETE", "/api/v1/holds/{hold_id}"): {OPS, CHANNEL},
    ("GET", "/api/v1/feeds/local-inventory"): {OPS, CHANNEL},
    ("POST", "/api/v1/webhooks"): {OPS},
    ("GET", "/api/v1/webhooks"): {OPS},
    ("GET", "/api/v1/webhooks/{webhook_id}"): {OPS},
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): {OPS},
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): {OPS},
    ("POST", "/api/v1/webhooks/{webhook_id}/rotate-secret"): {OPS},
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): {OPS},
    ("POST", "/api/v1/webhooks/{webhook_id}/replay"): {OPS},
}


def api_routes() -> list[tuple[str, str]]:
    """Every operation the app documents (all routes are in the OpenAPI schema; none is hidden)."""
    spec = create_app(Settings(database_url="sqlite://")).openapi()
    found = [(method.upper(), path) for path, ops in spec["paths"].items() if path not in PUBLIC for method in ops]
    return sorted(found)


ROUTES = api_routes()


def concrete(path: str, store: str) -> str:
    """A real URL for a route template (ids that exist or not: auth is checked before lookup)."""
    values = {"location_id": store, "gtin": "00614141100002", "order_id": "1", "token_id": "1", "shipment_id": "1", "run_id": "1", "task_id": "1", "return_id": "1", "epc": "3074257BF7194E4000001A85", "code": "ABCD2345", "hold_id": "hold_x", "webhook_id": "1", "staff_id": "1", "decision_id": "1"}
    url = re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)
    return url + "?max_seconds=0.2" if url.endswith("/stream") else url


def test_every_route_is_in_the_access_table() -> None:
    assert set(ROUTES) == set(ACCESS), "routes without an access rule (or rules without a route)"


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_no_token_is_401(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, concrete(path, "ST-X"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_bad_token_is_401(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, concrete(path, "ST-X"), headers={"Authorization": "Bearer ffl_not-a-real-token"})
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("role", [PICKER, DEVICE, CHANNEL])
def test_roles_are_refused_what_they_may_not_do(
    client: TestClient, auth: Callable[..., dict[str, str]], make_location: Callable[..., Any], role: str, method: str, path: str
) -> None:
    store = make_location().id
    headers = auth(role, None if role == CHANNEL else store)
    response = client.request(method, concrete(path, store), headers=headers, json={})
    if role in ACCESS[(method, path)]:
        assert response.status_code != 403, response.text
    else:
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"


def test_revoked_token_is_refused_at_once(client: TestClient, ops: dict[str, str], auth: Callable[..., dict[str, str]]) -> None:
    other = auth("ops")
    me = client.get("/api/v1/me", headers=other).json()
    assert client.delete(f"/api/v1/tokens/{me['token_id']}", headers=ops).status_code == 200
    assert client.get("/api/v1/me", headers=other).status_code == 401
    assert client.get("/api/v1/me", headers=ops).status_code == 200


def test_tokens_are_stored_hashed_and_never_listed(client: TestClient, ops: dict[str, str], session: Any) -> None:
    from sqlalchemy import select

    from fulfil.models import ApiToken

    secret = ops["Authorization"].split()[1]
    hashes = list(session.scalars(select(ApiToken.token_hash)))
    assert secret not in hashes and all(len(h) == 64 for h in hashes)
    listing = client.get("/api/v1/tokens", headers=ops)
    assert secret not in listing.text


def test_picker_is_scoped_to_its_store(
    client: TestClient, auth: Callable[..., dict[str, str]], make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None]
) -> None:
    mine, other = make_location().id, make_location().id
    gtin = make_product().gtin
    stock_of(mine, gtin, 5)
    stock_of(other, gtin, 7)
    picker = auth("picker", mine)
    assert [r["id"] for r in client.get("/api/v1/locations", headers=picker).json()] == [mine]
    assert client.get(f"/api/v1/locations/{other}", headers=picker).status_code == 403
    levels = client.get("/api/v1/stock", headers=picker).json()
    assert {lvl["location_id"] for lvl in levels} == {mine}
    assert client.get(f"/api/v1/stock?location_id={other}", headers=picker).status_code == 403
    assert client.get(f"/api/v1/stock/{other}/{gtin}", headers=picker).status_code == 403
    assert client.get(f"/api/v1/stock/{mine}/{gtin}", headers=picker).json()["on_hand"] == 5


def test_picker_takes_store_orders_for_its_own_store_only(
    client: TestClient, auth: Callable[..., dict[str, str]], make_location: Callable[..., Any], make_product: Callable[..., Any]
) -> None:
    mine, other = make_location().id, make_location().id
    gtin = make_product().gtin
    picker = auth("picker", mine)
    web = {"external_id": "P-1", "channel": "web", "pickup_location_id": mine, "lines": [{"gtin": gtin, "qty": 1}]}
    assert client.post("/api/v1/orders", headers=picker, json=web).status_code == 403
    elsewhere = {**web, "external_id": "P-2", "channel": "store", "origin_location_id": other}
    assert client.post("/api/v1/orders", headers=picker, json=elsewhere).status_code == 403
    ok = client.post("/api/v1/orders", headers=picker, json={**web, "external_id": "P-3", "channel": "store"})
    assert ok.status_code == 201, ok.text
    assert ok.json()["origin_location_id"] == mine
    order_id = ok.json()["id"]
    assert client.get(f"/api/v1/orders/{order_id}", headers=picker).status_code == 200
    assert client.get(f"/api/v1/orders/{order_id}", headers=auth("picker", other)).status_code == 404


def test_device_token_may_only_identify_itself(client: TestClient, auth: Callable[..., dict[str, str]], make_location: Callable[..., Any]) -> None:
    device = auth("device", make_location().id)
    assert client.get("/api/v1/me", headers=device).json()["role"] == "device"
    assert client.get("/api/v1/stock", headers=device).status_code == 403


def test_unscoped_device_tokens_are_refused(client: TestClient, ops: dict[str, str], session: Any, make_location: Any) -> None:
    refused = client.post("/api/v1/tokens", headers=ops, json={"role": "device", "name": "dock"})
    # The schema says it (a device token's location_id is required), and so does the answer.
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["field"] == "body.device.location_id"
    ops_scoped = client.post("/api/v1/tokens", headers=ops, json={"role": "ops", "name": "x", "location_id": "ST-1"})
    assert ops_scoped.status_code == 422 and ops_scoped.json()["error"]["details"][0]["field"] == "body.ops.location_id"
    store = make_location().id
    assert client.post("/api/v1/tokens", headers=ops, json={"role": "device", "name": "dock", "location_id": store}).status_code == 201
    # A device token issued before the rule (no location) is refused at authentication, with what to do about it.
    secret = "ffl_legacy-" + uuid.uuid4().hex
    legacy = ApiToken(name="legacy-dock", role=Role.DEVICE, location_id=None, token_hash=hash_secret(secret), token_prefix=secret[:12])
    session.add(legacy)
    session.commit()
    answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "device_token_unscoped"
    assert f"#{legacy.id}" in answer.json()["error"]["message"] and "--role device --store" in answer.json()["error"]["message"]

"""Customer tracking (GET /api/v1/track/{code}, no token): by the order's tracking token or a pickup code, only what
the customer may know; unknown codes are 404 and too many of them from one client 429 with Retry-After."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fulfil.models import LocationKind
from fulfil.pickups.codes import display
from fulfil.tracking.schemas import TrackingRead
from fulfil.tracking.tokens import as_token, new_token
from tests.click_and_collect import place, verified

STORE_ADDRESS = {"lines": ["12 rue de la République"], "city": "Lyon", "postcode": "69002", "country": "FR"}
HOURS = {"mon": [["09:00", "19:00"]], "sat": [["10:00", "18:00"]]}


def track(client: TestClient, code: str) -> Any:
    return client.get(f"/api/v1/track/{code}")


@pytest.fixture()
def shop(make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None], auth: Callable[..., dict[str, str]]) -> dict[str, Any]:
    store = make_location(kind=LocationKind.STORE, name="Lyon République", address=STORE_ADDRESS, opening_hours=HOURS, timezone="Europe/Paris").id
    gtin = make_product().gtin
    stock_of(store, gtin, 5)
    return {"store": store, "gtin": gtin, "picker": auth("picker", store), "channel": auth("channel")}


def test_a_pickup_order_is_tracked_by_code_or_token_through_its_life(
    client: TestClient, ops: dict[str, str], shop: dict[str, Any], session: Session,
) -> None:
    order = place(client, shop["channel"], shop["store"], {shop["gtin"]: 2})
    code, token = order["pickup"]["code"], order["tracking"]["token"]
    assert order["tracking"]["path"] == f"/api/v1/track/{token}"
    first = track(client, token)
    assert first.status_code == 200, first.text
    body = first.json()
    TrackingRead.model_validate(body)
    assert set(body) == {"external_id", "kind", "status", "pickup", "parcels"}  # nothing more: no lines, prices, ids
    assert (body["external_id"], body["kind"], body["status"], body["parcels"]) == (order["external_id"], "pickup", "received", [])
    assert body["pickup"] == {"store": {"name": "Lyon République", "address": STORE_ADDRESS, "opening_hours": HOURS, "timezone": "Europe/Paris"},
                              "ready_since": None, "hold_until": None}
    for typed in (code, code.lower(), display(code), token.upper()):  # as the customer may type them
        assert track(client, typed).json() == body
    [shipment] = order["shipments"]
    packed = verified(client, shop["picker"], session, shipment)
    assert track(client, code).json()["status"] == "preparing"
    ready = client.post(f"/api/v1/shipments/{shipment['id']}/ready", headers=shop["picker"])
    assert ready.status_code == 200, ready.text
    now = track(client, code).json()
    assert now["status"] == "ready_for_pickup"
    assert (now["pickup"]["ready_since"], now["pickup"]["hold_until"]) == (ready.json()["ready_at"], ready.json()["expires_at"])
    assert now["parcels"] == [{"sscc": packed["sscc"], "status": "packed", "left": False}]
    handed = client.post(f"/api/v1/shipments/{shipment['id']}/handover", headers=shop["picker"], json={"pickup_code": code})
    assert handed.status_code == 200, handed.text
    done = track(client, token).json()
    assert (done["status"], done["parcels"]) == ("collected", [{"sscc": packed["sscc"], "status": "collected", "left": True}])


def test_a_delivery_shows_its_parcels_leaving(client: TestClient, ops: dict[str, str], shop: dict[str, Any], session: Session) -> None:
    body = {"external_id": "TRK-HOME", "channel": "web", "ship_to": {"name": "A. Client", "address_lines": ["3 quai Saint-Antoine"], "lat": 45.76, "lon": 4.83},
            "currency": "EUR", "lines": [{"gtin": shop["gtin"], "qty": 1, "unit_price": "49.90"}]}
    order = client.post("/api/v1/orders", headers=shop["channel"], json=body).json()
    token = order["tracking"]["token"]
    packed = verified(client, shop["picker"], session, order["shipments"][0])
    assert client.post(f"/api/v1/shipments/{order['shipments'][0]['id']}/ship", headers=shop["picker"]).status_code == 200
    answer = track(client, token)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"external_id": "TRK-HOME", "kind": "delivery", "status": "shipped", "pickup": None,
                             "parcels": [{"sscc": packed["sscc"], "status": "shipped", "left": True}]}
    for secret in ("49.90", "quai Saint-Antoine", "A. Client", shop["gtin"], shop["store"]):
        assert secret not in answer.text  # no price, address, product or internal id
    cancelled = client.post("/api/v1/orders", headers=ops, json={**body, "external_id": "TRK-CXL"}).json()
    assert client.post(f"/api/v1/orders/{cancelled['id']}/cancel", headers=ops, json={"reason": "customer asked"}).status_code == 200
    assert track(client, cancelled["tracking"]["token"]).json()["status"] == "cancelled"


def test_the_token_goes_to_ops_and_channels_never_to_a_store(client: TestClient, ops: dict[str, str], shop: dict[str, Any]) -> None:
    order = place(client, ops, shop["store"], {shop["gtin"]: 1})
    assert as_token(order["tracking"]["token"]) == order["tracking"]["token"]
    as_store = client.get(f"/api/v1/orders/{order['id']}", headers=shop["picker"])
    assert as_store.status_code == 200 and as_store.json()["tracking"] is None and as_store.json()["pickup"] is None
    assert order["tracking"]["token"] not in as_store.text
    again = client.get(f"/api/v1/orders/{order['id']}", headers=ops).json()
    assert again["tracking"] == order["tracking"]  # the same token on every read
    other = place(client, ops, shop["store"], {shop["gtin"]: 1})
    assert other["tracking"]["token"] != order["tracking"]["token"]


def test_unknown_codes_are_404_and_guessing_is_refused(client: TestClient, app: Any, shop: dict[str, Any]) -> None:
    order = place(client, shop["channel"], shop["store"], {shop["gtin"]: 1})
    limit = app.state.settings.tracking_max_failures
    guesses = [new_token(), "ABCD2345", "no-such-code", "A"] * limit
    for guess in guesses[:limit]:
        answer = track(client, guess)
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found"), answer.text
        assert order["external_id"] not in answer.text
    refused = track(client, order["tracking"]["token"])  # even a real token, once the client has guessed too often
    assert (refused.status_code, refused.json()["error"]["code"]) == (429, "too_many_requests")
    assert 1 <= int(refused.headers["retry-after"]) <= app.state.settings.tracking_window_seconds
    # The curbside check-in keeps its own count: tracking guesses do not lock a customer out of checking in.
    assert client.post(f"/api/v1/pickups/{order['pickup']['code']}/checkin").status_code == 200


@pytest.mark.parametrize(("typed", "status"), [("abc$", 422), ("x" * 65, 422), ("%20", 404), ("AB", 404), ("f" * 32, 404)])
def test_a_code_that_cannot_be_one_is_refused(client: TestClient, typed: str, status: int) -> None:
    """Outside the path's pattern: 422 naming it; in it but no code or token of any order: 404."""
    answer = track(client, typed)
    assert answer.status_code == status, answer.text

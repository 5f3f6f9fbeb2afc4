"""Live data the routing library refuses (a non-finite cost stored before the API bounded it, a setting
out of range) is a 409 naming the record on every routing path, never a 500 or an order routed by it."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fulfil.config import Settings

ORDER = {"channel": "web", "ship_to": {"lat": 45.70, "lon": 4.90}}


@pytest.fixture()
def gtin(make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None]) -> str:
    make_location("ST-FINE-01", lat=45.76, lon=4.84, pick_cost_per_unit=1.2)
    product = make_product()
    stock_of("ST-FINE-01", product.gtin, 5)
    return str(product.gtin)


def refused(response: Any, message: str, field: str) -> None:
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_routing_data"
    assert error["message"] == message
    assert error["details"]["field"] == field


def test_a_location_with_an_infinite_cost_is_named_on_every_routing_path(
    client: TestClient, ops: dict[str, str], gtin: str, make_location: Callable[..., Any], stock_of: Callable[..., None],
) -> None:
    ordered = client.post("/api/v1/orders", headers=ops, json={**ORDER, "external_id": "LIM-1", "lines": [{"gtin": gtin, "qty": 1}]})
    assert ordered.status_code == 201, ordered.text
    # A row as the API stored it before location fields were bounded: the factory writes it directly.
    make_location("ST-INF-01", lat=45.70, lon=4.90, pick_cost_per_unit=math.inf)
    stock_of("ST-INF-01", gtin, 5)
    message = "cannot route: location ST-INF-01 pick_cost_per_unit: must be finite"

    second = client.post("/api/v1/orders", headers=ops, json={**ORDER, "external_id": "LIM-2", "lines": [{"gtin": gtin, "qty": 1}]})
    refused(second, message, "locations[1].pick_cost_per_unit")
    assert client.get("/api/v1/orders", headers=ops).json()[0]["external_id"] == "LIM-1"  # LIM-2 was not taken in
    refused(client.get("/api/v1/routing/instance", headers=ops), message, "locations[1].pick_cost_per_unit")
    refused(client.post("/api/v1/routing/runs", headers=ops, json={"time_limit_seconds": 2}), message, "locations[1].pick_cost_per_unit")
    assert client.get("/api/v1/routing/runs", headers=ops).json() == []  # the refused run left no record
    order_id = ordered.json()["id"]
    refused(client.post(f"/api/v1/orders/{order_id}/reroute", headers=ops, json={}), message, "locations[1].pick_cost_per_unit")
    assert {s["location_id"] for s in client.get(f"/api/v1/orders/{order_id}", headers=ops).json()["shipments"]} == {"ST-FINE-01"}


def test_a_routing_setting_out_of_range_names_the_variable(app: Any, client: TestClient, ops: dict[str, str], gtin: str) -> None:
    app.state.settings = Settings(database_url=app.state.settings.database_url, routing_cost_per_km=math.inf)
    response = client.post("/api/v1/orders", headers=ops, json={**ORDER, "external_id": "LIM-3", "lines": [{"gtin": gtin, "qty": 1}]})
    refused(response, "cannot route: setting FULFIL_ROUTING_COST_PER_KM: must be finite", "params.cost_per_km")

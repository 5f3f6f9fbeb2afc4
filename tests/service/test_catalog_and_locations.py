"""Locations and products through the API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import make_gtin


def test_location_lifecycle(client: TestClient, ops: dict[str, str]) -> None:
    body = {"id": "ST-TEST-01", "name": "Test store", "kind": "store", "lat": 45.0, "lon": 4.0, "capacity_per_day": 30,
            "pick_cost_per_unit": 1.2, "handling_days": 0, "opening_hours": {"mon": [["09:00", "19:00"]]}}
    created = client.post("/api/v1/locations", headers=ops, json=body)
    assert created.status_code == 201, created.text
    assert client.post("/api/v1/locations", headers=ops, json=body).status_code == 409
    patched = client.patch("/api/v1/locations/ST-TEST-01", headers=ops, json={"capacity_per_day": 10, "active": False})
    assert patched.json()["capacity_per_day"] == 10 and patched.json()["active"] is False
    assert client.patch("/api/v1/locations/ST-TEST-01", headers=ops, json={"kind": "warehouse"}).status_code == 422
    assert client.get("/api/v1/locations/NOPE", headers=ops).status_code == 404
    assert "ST-TEST-01" in {loc["id"] for loc in client.get("/api/v1/locations?kind=store", headers=ops).json()}


def test_product_lifecycle_and_gtin_validation(client: TestClient, ops: dict[str, str]) -> None:
    gtin = make_gtin()
    created = client.post("/api/v1/products", headers=ops, json={"gtin": gtin, "name": "Linen shirt", "aisle": "A3", "bay": "02", "shelf": "1", "company_prefix_length": 7})
    assert created.status_code == 201, created.text
    assert client.get(f"/api/v1/products/{gtin[1:]}", headers=ops).json()["gtin"] == gtin  # GTIN-13 finds the GTIN-14
    bad = client.post("/api/v1/products", headers=ops, json={"gtin": gtin[:-1] + str((int(gtin[-1]) + 1) % 10), "name": "x"})
    assert bad.status_code == 422 and "check digit" in bad.json()["error"]["details"][0]["message"]
    assert client.get("/api/v1/products/123", headers=ops).status_code == 422
    assert client.patch(f"/api/v1/products/{gtin}", headers=ops, json={"aisle": "B1"}).json()["aisle"] == "B1"
    assert [p["gtin"] for p in client.get("/api/v1/products?q=linen", headers=ops).json()] == [gtin]

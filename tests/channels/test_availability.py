"""Availability for the channels: the one stock rule per location, the network figure for delivery, buckets, filters
by location and distance, and bad input refused with a reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from fulfil.models import LocationKind
from tests.factories import make_gtin

URL = "/api/v1/availability"


def test_per_location_and_network_follow_the_one_stock_rule(
    client: TestClient, auth: Callable[..., dict[str, str]], make_location: Callable[..., Any], make_product: Callable[..., Any],
    stock_of: Callable[..., None], ops: dict[str, str],
) -> None:
    near, far = make_location(lat=45.76, lon=4.83), make_location(lat=48.85, lon=2.35)
    dc = make_location(kind=LocationKind.WAREHOUSE, lat=45.0, lon=5.0)
    gtin = make_product().gtin
    stock_of(near.id, gtin, 5, safety=2)  # 3 to promise: limited (threshold 3)
    stock_of(far.id, gtin, 1, safety=4)  # safety above stock: 0, never negative
    stock_of(dc.id, gtin, 40)
    channel = auth("channel")
    body = client.get(URL, params={"gtin": gtin}, headers=channel).json()
    by_id = {row["location_id"]: row for row in body["locations"]}
    assert by_id[near.id]["available"] == 3 and by_id[near.id]["bucket"] == "limited_availability" and by_id[near.id]["pickup"] is True
    assert by_id[far.id]["available"] == 0 and by_id[far.id]["bucket"] == "out_of_stock"
    assert by_id[dc.id]["available"] == 40 and by_id[dc.id]["bucket"] == "in_stock" and by_id[dc.id]["pickup"] is False
    assert body["network"] == {"available": 43, "bucket": "in_stock"}
    # An order reserves units: the next answer shows them gone at once.
    order = {"external_id": "AV-1", "channel": "web", "pickup_location_id": near.id, "lines": [{"gtin": gtin, "qty": 2}]}
    assert client.post("/api/v1/orders", headers=channel, json=order).status_code == 201
    after = client.get(URL, params={"gtin": gtin, "location_id": near.id}, headers=channel).json()
    assert [(r["location_id"], r["available"]) for r in after["locations"]] == [(near.id, 1)]
    assert after["network"]["available"] == 41


def test_near_lists_stores_in_the_radius_nearest_first_even_without_stock(
    client: TestClient, auth: Callable[..., dict[str, str]], make_location: Callable[..., Any], make_product: Callable[..., Any],
    stock_of: Callable[..., None],
) -> None:
    here = (45.7640, 4.8357)  # Lyon
    a = make_location(lat=45.7700, lon=4.8400)  # < 1 km
    b = make_location(lat=45.7500, lon=4.8500)  # ~2 km, no stock
    make_location(lat=48.85, lon=2.35)  # Paris: out of the radius
    make_location(kind=LocationKind.WAREHOUSE, lat=45.765, lon=4.836)  # not a store: no pickup
    gtin = make_product().gtin
    stock_of(a.id, gtin, 9)
    body = client.get(URL, params={"gtin": gtin, "near": f"{here[0]},{here[1]}", "radius_km": 5}, headers=auth("channel")).json()
    rows = body["locations"]
    assert [r["location_id"] for r in rows] == [a.id, b.id]
    assert rows[0]["distance_km"] < rows[1]["distance_km"] < 5
    assert rows[1]["available"] == 0 and rows[1]["bucket"] == "out_of_stock"


def test_batch_query_answers_many_products_at_many_locations(
    client: TestClient, ops: dict[str, str], make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> None:
    s1, s2 = make_location(), make_location()
    g1, g2 = make_product().gtin, make_product().gtin
    stock_of(s1.id, g1, 10)
    stock_of(s2.id, g2, 1)
    response = client.post(f"{URL}/query", headers=ops, json={"gtins": [g2, g1, g2], "location_ids": [s1.id, s2.id]})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["gtin"] for i in items] == [g2, g1]  # as asked, each once
    table = {(i["gtin"], r["location_id"]): (r["available"], r["bucket"]) for i in items for r in i["locations"]}
    assert table == {
        (g2, s1.id): (0, "out_of_stock"), (g2, s2.id): (1, "limited_availability"),
        (g1, s1.id): (10, "in_stock"), (g1, s2.id): (0, "out_of_stock"),
    }


def test_bad_input_is_refused_with_a_reason(
    client: TestClient, ops: dict[str, str], make_location: Callable[..., Any], make_product: Callable[..., Any],
) -> None:
    gtin = make_product().gtin
    unknown = client.get(URL, params={"gtin": make_gtin()}, headers=ops)
    assert unknown.status_code == 404 and "unknown product" in unknown.text
    assert client.get(URL, params={"gtin": "123"}, headers=ops).status_code == 422
    for near in ("45.7", "north,south", "91,0", "nan,1", "1,2,3"):
        bad = client.get(URL, params={"gtin": gtin, "near": near}, headers=ops)
        assert bad.status_code == 422, (near, bad.text)
        assert bad.json()["error"]["details"][0]["field"] == "query.near"
    missing = client.get(URL, params={"gtin": gtin, "location_id": "NOPE"}, headers=ops)
    assert missing.status_code == 404 and "NOPE" in missing.text
    inactive = make_location(active=False)
    assert client.get(URL, params={"gtin": gtin, "location_id": inactive.id}, headers=ops).status_code == 404
    too_many = client.post(f"{URL}/query", headers=ops, json={"gtins": [gtin] * 201})
    assert too_many.status_code == 422

"""Promises: the delivery and pickup options a basket can be given, with dates from the locations' cut-off, opening
days and handling days and the transit bands, routed by the real-time router (the same as order intake)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from fulfil.models import LocationKind

URL = "/api/v1/promise"
ALWAYS = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
LYON = (45.7640, 4.8357)


def quoted(body: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(body["quoted_at"])


def test_delivery_date_follows_cutoff_handling_and_transit(
    client: TestClient, auth: Callable[..., dict[str, str]], make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> None:
    # Cut-off at midnight: every order starts the next day; 1 handling day; ~100 km: 1 transit day.
    dc = make_location(kind=LocationKind.WAREHOUSE, lat=45.0, lon=5.5, handling_days=1, cutoff_time="00:00", pick_cost_per_unit=0.1)
    gtin = make_product().gtin
    stock_of(dc.id, gtin, 10)
    response = client.post(URL, headers=auth("channel"), json={"lines": [{"gtin": gtin, "qty": 2}], "ship_to": {"lat": LYON[0], "lon": LYON[1]}})
    assert response.status_code == 200, response.text
    body = response.json()
    [option] = body["options"]
    start = quoted(body).date() + timedelta(days=1)
    assert option["option_id"] == "delivery:standard" and option["method"] == "delivery"
    assert option["locations"] == [dc.id] and option["split"] is False and option["cost"] > 0
    [parcel] = option["parcels"]
    assert parcel["dispatch_date"] == (start + timedelta(days=1)).isoformat()
    assert option["earliest_delivery"] == parcel["arrival_date"] == (start + timedelta(days=2)).isoformat()
    assert body["hold"] is None and body["delivery_shortfall"] == []


def test_a_faster_dearer_plan_is_offered_next_to_the_cheapest(
    client: TestClient, ops: dict[str, str], make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> None:
    far = make_location(kind=LocationKind.WAREHOUSE, lat=43.3, lon=-0.4, pick_cost_per_unit=0.0, cutoff_time="23:59", opening_hours=ALWAYS)  # ~500 km
    near = make_location(lat=45.77, lon=4.84, pick_cost_per_unit=30.0, cutoff_time="23:59", opening_hours=ALWAYS)
    gtin = make_product().gtin
    stock_of(far.id, gtin, 5)
    stock_of(near.id, gtin, 5)
    body = client.post(URL, headers=ops, json={"lines": [{"gtin": gtin, "qty": 1}], "ship_to": {"lat": LYON[0], "lon": LYON[1]}}).json()
    options = {o["option_id"]: o for o in body["options"]}
    assert list(options) == ["delivery:standard", "delivery:fastest"]
    assert options["delivery:standard"]["locations"] == [far.id] and options["delivery:fastest"]["locations"] == [near.id]
    assert options["delivery:fastest"]["earliest_delivery"] < options["delivery:standard"]["earliest_delivery"]
    assert options["delivery:fastest"]["cost"] > options["delivery:standard"]["cost"]


def test_a_basket_split_over_two_locations_says_so_and_a_shortfall_offers_no_delivery(
    client: TestClient, ops: dict[str, str], make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> None:
    a, b = make_location(lat=45.7, lon=4.8), make_location(lat=45.8, lon=4.9)
    g1, g2 = make_product().gtin, make_product().gtin
    stock_of(a.id, g1, 1)
    stock_of(b.id, g2, 1)
    body = client.post(URL, headers=ops, json={"lines": [{"gtin": g1, "qty": 1}, {"gtin": g2, "qty": 1}], "ship_to": {"lat": 45.75, "lon": 4.85}}).json()
    [option] = body["options"]
    assert option["split"] is True and sorted(option["locations"]) == sorted([a.id, b.id])
    short = client.post(URL, headers=ops, json={"lines": [{"gtin": g1, "qty": 3}], "ship_to": {"lat": 45.75, "lon": 4.85}}).json()
    assert short["options"] == [] and short["delivery_shortfall"] == [{"gtin": g1, "qty": 2}]


def test_pickup_near_quotes_each_store_that_can_have_the_basket_and_when(
    client: TestClient, auth: Callable[..., dict[str, str]], make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> None:
    shelf = make_location(lat=45.765, lon=4.836, opening_hours=ALWAYS, name="Lyon Centre")  # has it
    transfer = make_location(lat=45.75, lon=4.85, opening_hours=ALWAYS, cutoff_time="23:59")  # gets it from the DC
    dc = make_location(kind=LocationKind.WAREHOUSE, lat=45.70, lon=4.80, handling_days=0, cutoff_time="00:00", pick_cost_per_unit=0.0)
    make_location(lat=48.85, lon=2.35)  # Paris: too far
    gtin = make_product().gtin
    stock_of(shelf.id, gtin, 1)
    stock_of(dc.id, gtin, 10)
    body = client.post(URL, headers=auth("channel"), json={
        "lines": [{"gtin": gtin, "qty": 1}], "pickup_near": {"lat": LYON[0], "lon": LYON[1], "radius_km": 10},
    }).json()
    now = quoted(body)
    options = {o["option_id"]: o for o in body["options"]}
    assert list(options) == [f"pickup:{shelf.id}", f"pickup:{transfer.id}"]  # nearest first
    own = options[f"pickup:{shelf.id}"]
    assert own["from_store_stock"] is True and own["store"]["name"] == "Lyon Centre" and own["store"]["distance_km"] < 1
    assert datetime.fromisoformat(own["ready_at"]) == now + timedelta(minutes=120)  # FULFIL_PICKUP_READY_MINUTES of opening time
    assert own["ready_label"].startswith("ready today at") or own["ready_label"].startswith("ready tomorrow at")
    moved = options[f"pickup:{transfer.id}"]
    assert moved["from_store_stock"] is False and moved["locations"] == [dc.id]
    arrival = date.fromisoformat(moved["parcels"][0]["arrival_date"])
    assert arrival == now.date() + timedelta(days=2)  # next day's dispatch (midnight cut-off), one transit day
    assert moved["ready_at"].startswith(f"{arrival.isoformat()}T02:00")


def test_bad_promise_requests_are_refused_with_a_reason(
    client: TestClient, ops: dict[str, str], make_location: Callable[..., Any], make_product: Callable[..., Any],
) -> None:
    gtin = make_product().gtin
    dc = make_location(kind=LocationKind.WAREHOUSE)
    cases = [
        ({"lines": [{"gtin": gtin, "qty": 1}]}, 422),  # nowhere
        ({"lines": [{"gtin": gtin, "qty": 1}], "ship_to": {"lat": 1, "lon": 1}, "hold_option": "delivery:standard"}, 422),
        ({"lines": [{"gtin": gtin, "qty": 0}], "ship_to": {"lat": 1, "lon": 1}}, 422),
        ({"lines": [{"gtin": gtin, "qty": 1}], "ship_to": {"lat": 1, "lon": 1}, "hold_option": "teleport", "hold_seconds": 60}, 422),
        ({"lines": [{"gtin": gtin, "qty": 1}], "pickup_location_id": "NOPE"}, 404),
        ({"lines": [{"gtin": gtin, "qty": 1}], "pickup_location_id": dc.id}, 409),
        ({"lines": [{"gtin": make_gtin(), "qty": 1}], "ship_to": {"lat": 1, "lon": 1}}, 404),
        ({"lines": [{"gtin": gtin, "qty": 1}], "ship_to": {"lat": 1, "lon": 1}, "hold_seconds": 86_401}, 422),
    ]
    for body, expected in cases:
        response = client.post(URL, headers=ops, json=body)
        assert response.status_code == expected, (body, response.text)
        assert response.json()["error"]["message"]


from tests.factories import make_gtin  # noqa: E402

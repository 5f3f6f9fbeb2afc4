"""Routing in the service: on intake, explained, re-routed on rejection or by ops, re-optimised in batch, exported."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

import routing
from fulfil.models import LocationKind

STORE = (45.00, 4.00)
DC = (49.50, 4.00)  # about 500 km north of the store


@pytest.fixture()
def net(make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None]) -> dict[str, str]:
    store = make_location(kind=LocationKind.STORE, lat=STORE[0], lon=STORE[1], capacity_per_day=1, pick_cost_per_unit=1.0, handling_days=0).id
    dc = make_location(kind=LocationKind.WAREHOUSE, lat=DC[0], lon=DC[1], capacity_per_day=100, pick_cost_per_unit=0.4, handling_days=1).id
    x, y = make_product().gtin, make_product().gtin
    stock_of(store, x, 2)
    stock_of(dc, x, 10)
    stock_of(dc, y, 10)
    return {"store": store, "dc": dc, "x": x, "y": y}


def web(external_id: str, lat: float, lon: float, lines: list[tuple[str, int]], **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "channel": "web", "ship_to": {"lat": lat, "lon": lon}, "lines": [{"gtin": g, "qty": q} for g, q in lines], **extra}


def stock(client: TestClient, headers: dict[str, str], loc: str, gtin: str) -> dict[str, Any]:
    return client.get(f"/api/v1/stock/{loc}/{gtin}", headers=headers).json()


def test_intake_routes_to_the_cheapest_location_and_reserves(client: TestClient, ops: dict[str, str], net: dict[str, str]) -> None:
    order = client.post("/api/v1/orders", headers=ops, json=web("A", 45.09, 4.0, [(net["x"], 1)])).json()
    assert order["status"] == "routed"
    assert [(s["location_id"], s["status"], s["lines"][0]["qty"]) for s in order["shipments"]] == [(net["store"], "assigned", 1)]
    assert stock(client, ops, net["store"], net["x"])["reserved"] == 1
    explained = client.get(f"/api/v1/orders/{order['id']}/routing", headers=ops).json()
    current = explained["current"]
    assert current["location_ids"] == [net["store"]]
    # 10 km: 4.50 + 0.012 * 10.01 + 1.00 picking
    assert current["cost"] == pytest.approx(4.5 + 0.012 * routing.cost.haversine_km(45.09, 4.0, *STORE) + 1.0, abs=1e-4)
    assert current["explanation"]["alternative"]["locations"] == [net["dc"]]
    assert current["explanation"]["alternative"]["extra_cost"] > 0
    events = client.get(f"/api/v1/stock/events?order_id={order['id']}", headers=ops).json()
    assert [(e["kind"], e["location_id"], e["reserved_delta"]) for e in events] == [("reservation", net["store"], 1)]


def test_split_when_no_single_location_can_serve(client: TestClient, ops: dict[str, str], net: dict[str, str], stock_of: Callable[..., None]) -> None:
    order = client.post("/api/v1/orders", headers=ops, json=web("B", 45.09, 4.0, [(net["x"], 5)], promise_days=1)).json()
    # The store holds 2; the DC is 2 days away (1 handling + 1 transit ... 500 km is 2 transit days): promise 1 rules it out.
    assert order["status"] == "partially_routed"
    assert [(s["location_id"], s["lines"][0]["qty"]) for s in order["shipments"]] == [(net["store"], 2)]
    explanation = client.get(f"/api/v1/orders/{order['id']}/routing", headers=ops).json()["current"]["explanation"]
    assert explanation["unfilled"] == {net["x"]: 3}
    no_promise = client.post("/api/v1/orders", headers=ops, json=web("C", 45.09, 4.0, [(net["x"], 5), (net["y"], 1)])).json()
    assert no_promise["status"] == "routed"
    assert {s["location_id"] for s in no_promise["shipments"]} == {net["dc"]}  # one parcel beats a split


def test_pickup_is_served_by_its_own_store_for_free(client: TestClient, ops: dict[str, str], net: dict[str, str]) -> None:
    order = client.post("/api/v1/orders", headers=ops, json={"external_id": "P", "channel": "store", "pickup_location_id": net["store"], "lines": [{"gtin": net["x"], "qty": 1}]}).json()
    assert [s["location_id"] for s in order["shipments"]] == [net["store"]]
    assert client.get(f"/api/v1/orders/{order['id']}/routing", headers=ops).json()["current"]["cost"] == pytest.approx(1.0)


def test_safety_stock_and_capacity_are_respected(client: TestClient, ops: dict[str, str], net: dict[str, str]) -> None:
    client.put(f"/api/v1/stock/{net['store']}/{net['x']}/safety", headers=ops, json={"safety": 2})
    first = client.post("/api/v1/orders", headers=ops, json=web("S1", 45.09, 4.0, [(net["x"], 1)])).json()
    assert [s["location_id"] for s in first["shipments"]] == [net["dc"]]  # the store's units are held for walk-ins
    reason = client.get(f"/api/v1/orders/{first['id']}/routing", headers=ops).json()["current"]["explanation"]
    assert any(b.get("constraint") == "safety stock" for b in reason.get("binding", [])), reason


def test_store_rejection_reroutes_elsewhere_and_releases_stock(
    client: TestClient, ops: dict[str, str], auth: Callable[..., dict[str, str]], net: dict[str, str]
) -> None:
    order = client.post("/api/v1/orders", headers=ops, json=web("R", 45.09, 4.0, [(net["x"], 1)])).json()
    shipment = order["shipments"][0]
    assert shipment["location_id"] == net["store"]
    picker = auth("picker", net["store"])
    result = client.post(f"/api/v1/shipments/{shipment['id']}/reject", headers=picker, json={"reason": "damaged"})
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["rejected"]["status"] == "rejected" and body["rejected"]["rejection_reason"] == "damaged"
    assert [s["location_id"] for s in body["new_shipments"]] == [net["dc"]]
    assert "rejected it (damaged)" in body["rerouted"]["reason"]
    assert stock(client, ops, net["store"], net["x"])["reserved"] == 0
    assert stock(client, ops, net["dc"], net["x"])["reserved"] == 1
    history = client.get(f"/api/v1/orders/{order['id']}/routing", headers=ops).json()["history"]
    assert len(history) == 2 and history[1]["superseded_at"] is not None
    # Ops re-routes the order: it never goes back to the store that rejected it.
    again = client.post(f"/api/v1/orders/{order['id']}/reroute", headers=ops, json={})
    assert again.json()["location_ids"] == [net["dc"]]
    assert net["store"] in again.json()["explanation"]["excluded"]
    # The picker can no longer reject the DC's shipment: not its store.
    dc_shipment = body["new_shipments"][0]["id"]
    assert client.post(f"/api/v1/shipments/{dc_shipment}/reject", headers=picker, json={"reason": "x"}).status_code == 404


def test_ops_override_forces_a_location(client: TestClient, ops: dict[str, str], net: dict[str, str]) -> None:
    order = client.post("/api/v1/orders", headers=ops, json=web("O", 45.09, 4.0, [(net["x"], 1)])).json()
    forced = client.post(f"/api/v1/orders/{order['id']}/reroute", headers=ops, json={"location_id": net["dc"]})
    assert forced.status_code == 200 and forced.json()["location_ids"] == [net["dc"]] and forced.json()["solver"] == "manual"
    shipments = client.get(f"/api/v1/orders/{order['id']}", headers=ops).json()["shipments"]
    assert [(s["location_id"], s["status"]) for s in shipments] == [(net["store"], "superseded"), (net["dc"], "assigned")]
    assert stock(client, ops, net["store"], net["x"])["reserved"] == 0


def test_batch_run_fixes_first_come_first_served(client: TestClient, ops: dict[str, str], net: dict[str, str]) -> None:
    # A arrives first and takes the store's only parcel slot; B is a click-and-collect at that store, which the
    # store would serve for free. Real time cannot know B is coming; the batch swaps them.
    a = client.post("/api/v1/orders", headers=ops, json=web("A", 45.09, 4.0, [(net["x"], 1)])).json()
    b = client.post("/api/v1/orders", headers=ops, json={"external_id": "B", "channel": "store", "pickup_location_id": net["store"], "lines": [{"gtin": net["x"], "qty": 1}]}).json()
    assert (a["shipments"][0]["location_id"], b["shipments"][0]["location_id"]) == (net["store"], net["dc"])
    run = client.post("/api/v1/routing/runs", headers=ops, json={"time_limit_seconds": 5})
    assert run.status_code == 201, run.text
    summary = run.json()
    assert summary["status"] == "done" and summary["moved"] == 2
    assert summary["cost_after"] < summary["cost_before"] - 4
    assert summary["lower_bound"] <= summary["cost_after"] + 1e-6 and summary["gap"] is not None
    assert client.get(f"/api/v1/routing/runs/{summary['id']}", headers=ops).json() == summary
    after_a = client.get(f"/api/v1/orders/{a['id']}", headers=ops).json()
    after_b = client.get(f"/api/v1/orders/{b['id']}", headers=ops).json()
    assert [s["location_id"] for s in after_a["shipments"] if s["status"] == "assigned"] == [net["dc"]]
    assert [s["location_id"] for s in after_b["shipments"] if s["status"] == "assigned"] == [net["store"]]
    assert stock(client, ops, net["store"], net["x"])["reserved"] == 1 and stock(client, ops, net["dc"], net["x"])["reserved"] == 1
    decision = client.get(f"/api/v1/orders/{b['id']}/routing", headers=ops).json()["current"]
    assert decision["run_id"] == summary["id"] and "batch re-optimisation" in decision["reason"]


def test_batch_run_never_moves_started_work(client: TestClient, ops: dict[str, str], net: dict[str, str], session: Any) -> None:
    from fulfil.models import Shipment, ShipmentStatus

    a = client.post("/api/v1/orders", headers=ops, json=web("A", 45.09, 4.0, [(net["x"], 1)])).json()
    client.post("/api/v1/orders", headers=ops, json={"external_id": "B", "channel": "store", "pickup_location_id": net["store"], "lines": [{"gtin": net["x"], "qty": 1}]})
    started = session.get(Shipment, a["shipments"][0]["id"])
    started.status = ShipmentStatus.PICKING
    session.commit()
    summary = client.post("/api/v1/routing/runs", headers=ops, json={"time_limit_seconds": 5}).json()
    assert summary["moved"] == 0
    assert client.get(f"/api/v1/orders/{a['id']}", headers=ops).json()["shipments"][0]["status"] == "picking"


def test_export_is_a_valid_instance_that_replays(client: TestClient, ops: dict[str, str], net: dict[str, str]) -> None:
    client.post("/api/v1/orders", headers=ops, json=web("A", 45.09, 4.0, [(net["x"], 1)]))
    client.post("/api/v1/orders", headers=ops, json={"external_id": "B", "channel": "store", "pickup_location_id": net["store"], "lines": [{"gtin": net["x"], "qty": 1}]})
    document = client.get("/api/v1/routing/instance", headers=ops).json()
    assert document["format"] == "fulfil.routing-instance/1"
    instance = routing.instance_from_dict(document)
    assert {o.id for o in instance.orders} >= {"A", "B"}
    assert {s.on_hand for s in instance.stock if s.location == net["store"] and s.sku == net["x"]} == {2}  # reservations of exported orders count as free
    plan = routing.solve_optimal(instance, routing.Options(time_limit=5))
    assert routing.check(instance, plan).feasible


def test_ops_find_decisions_by_location_day_and_tag(client: TestClient, ops: dict[str, str], net: dict[str, str], stock_of: Callable[..., None]) -> None:
    from datetime import UTC, datetime, timedelta

    promised = client.post("/api/v1/orders", headers=ops, json=web("D-PROMISE", 45.09, 4.0, [(net["x"], 5)], promise_days=1)).json()
    split = client.post("/api/v1/orders", headers=ops, json=web("D-DC", 45.09, 4.0, [(net["x"], 1)])).json()  # the store has none left
    forced = client.post("/api/v1/orders", headers=ops, json=web("D-FORCED", 45.09, 4.0, [(net["y"], 1)])).json()
    assert client.post(f"/api/v1/orders/{forced['id']}/reroute", headers=ops, json={"location_id": net["dc"]}).status_code == 200

    def find(**params: Any) -> list[dict[str, Any]]:
        response = client.get("/api/v1/routing/decisions", headers=ops, params=params)
        assert response.status_code == 200, response.text
        return list(response.json())

    today = datetime.now(UTC).date().isoformat()
    mine = {promised["id"], split["id"], forced["id"]}
    at_store = [d for d in find(location_id=net["store"], day=today) if d["order_id"] in mine]
    assert {d["order_id"] for d in at_store} == {promised["id"]}
    assert {d["order_id"] for d in find(location_id=net["dc"]) if d["order_id"] in mine} == {split["id"], forced["id"]}
    unfilled = [d for d in find(tag="unfilled") if d["order_id"] in mine]
    assert [d["order_id"] for d in unfilled] == [promised["id"]] and unfilled[0]["explanation"]["unfilled"] == {net["x"]: 3}
    assert "unfilled" in unfilled[0]["tags"]
    at_risk = [d["order_id"] for d in find(tag="promise_risk") if d["order_id"] in mine]
    assert at_risk == [promised["id"]]  # the DC has the rest, too far for the promise
    overrides = [d for d in find(tag="override") if d["order_id"] in mine]
    assert [(d["order_id"], d["location_ids"], d["solver"]) for d in overrides] == [(forced["id"], [net["dc"]], "manual")]
    assert "rerouted" in overrides[0]["tags"]
    assert [d["order_id"] for d in find(tag=["override", "rerouted"], current=True) if d["order_id"] in mine] == [forced["id"]]
    assert not [d for d in find(tag="override", day=(datetime.now(UTC) - timedelta(days=2)).date().isoformat()) if d["order_id"] in mine]
    everything = [d for d in find(limit=500) if d["order_id"] in mine]
    assert len(everything) == 4  # three on intake, one override; newest first, paged by id
    first, rest = find(limit=1), find(before_id=everything[0]["id"], limit=500)
    assert first[0]["id"] == max(d["id"] for d in find(limit=500)) and all(d["id"] < everything[0]["id"] for d in rest)
    one = client.get(f"/api/v1/routing/decisions/{overrides[0]['id']}", headers=ops)
    assert one.status_code == 200 and one.json() == overrides[0]
    assert client.get("/api/v1/routing/decisions/987654", headers=ops).status_code == 404
    assert client.get("/api/v1/routing/decisions", headers=ops, params={"tag": "nonsense"}).status_code == 422


def test_decision_tags_say_what_a_decision_did() -> None:
    from fulfil.models.routing import decision_tags

    assert decision_tags(["A", "B"], {"unfilled": {}, "binding": []}, "realtime") == ["split"]
    assert decision_tags(["A", "A"], None, "realtime") == []  # two parcels from one place are no split
    assert decision_tags([], {"unfilled": {"0123": 2}, "binding": [{"location": None, "constraint": "no stock"}]}, "realtime") == ["unfilled"]
    assert decision_tags(["A"], {"unfilled": {"0123": 0}, "binding": [{"location": "B", "constraint": "promise date"}]}, "realtime") == ["promise_risk"]
    assert decision_tags(["B"], {"previous_locations": ["A"]}, "manual") == ["override", "rerouted"]
    assert decision_tags(["B"], {"previous_locations": ["A"]}, "optimal") == ["rerouted", "batch"]
    assert decision_tags(["A"], {"hold": "h1", "previous_locations": []}, "hold") == ["hold"]
    assert decision_tags(["A"], {"unfilled": {"0123": 1}, "promise_days": 2}, "realtime") == ["unfilled", "promise_risk"]


def test_a_paused_location_takes_no_new_parcel_until_its_pause_ends(client: TestClient, ops: dict[str, str], net: dict[str, str], session: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from fulfil.models import Location

    until = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    paused = client.patch(f"/api/v1/locations/{net['store']}", headers=ops, json={"paused_until": until.isoformat()})
    assert paused.status_code == 200 and datetime.fromisoformat(paused.json()["paused_until"]) == until
    assert client.patch(f"/api/v1/locations/{net['store']}", headers=ops, json={"paused_until": "2026-12-06T10:00:00"}).status_code == 422  # no zone
    order = client.post("/api/v1/orders", headers=ops, json=web("PAUSE-1", 45.09, 4.0, [(net["x"], 1)])).json()
    assert [s["location_id"] for s in order["shipments"]] == [net["dc"]]  # the store beside the customer is paused
    quote = client.post("/api/v1/promise", headers=ops, json={"lines": [{"gtin": net["x"], "qty": 1}], "ship_to": {"lat": 45.09, "lon": 4.0}})
    assert quote.status_code == 200 and net["store"] not in str(quote.json())  # a checkout is not promised from it either
    # The pause ends (here: moved into the past, as time would): the store takes parcels again.
    session.get(Location, net["store"]).paused_until = datetime.now(UTC) - timedelta(seconds=1)
    session.commit()
    again = client.post("/api/v1/orders", headers=ops, json=web("PAUSE-2", 45.09, 4.0, [(net["x"], 1)])).json()
    assert [s["location_id"] for s in again["shipments"]] == [net["store"]]
    resumed = client.patch(f"/api/v1/locations/{net['store']}", headers=ops, json={"paused_until": None})
    assert resumed.status_code == 200 and resumed.json()["paused_until"] is None


def test_a_batch_run_cut_by_its_time_limit_says_so_and_is_counted(client: TestClient, ops: dict[str, str], net: dict[str, str]) -> None:
    from tests.service.test_telemetry import sample, scrape

    client.post("/api/v1/orders", headers=ops, json=web("A", 45.09, 4.0, [(net["x"], 1)]))
    before = sample(scrape(client, ops), "fulfil_routing_batch_fallbacks_total", reason="guard")
    run = client.post("/api/v1/routing/runs", headers=ops, json={"time_limit_seconds": 0.0001})
    assert run.status_code == 201, run.text
    assert run.json()["status"] == "done" and run.json()["solver_status"] == "time limit"
    assert sample(scrape(client, ops), "fulfil_routing_batch_fallbacks_total", reason="guard") == before + 1
    quiet = client.post("/api/v1/routing/runs", headers=ops, json={"time_limit_seconds": 5}).json()
    assert quiet["solver_status"] == "optimal"  # one order: the LP's bound proves the plan
    assert sample(scrape(client, ops), "fulfil_routing_batch_fallbacks_total", reason="guard") == before + 1

"""POST /ops/whatif: a window of orders made through the API, replayed under two policies. The instance must hold
exactly the window's orders and the stock as it stood at the window's start (stock that moved afterwards is not
counted); each policy's figures are recomputed here from its plan with the routing library's checker; the optimiser
never costs more than greedy; a higher split penalty never splits more; bad windows are refused with a reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import routing
from fulfil.config import Settings
from fulfil.models import LocationKind, RoutingDecision, StockEvent
from fulfil.ops import whatif
from tests.click_and_collect import place as place_pickup
from tests.service.flows import place

LYON = {"lat": 45.76, "lon": 4.84}
GREEDY = {"solver": "greedy"}
OPTIMISED = {"solver": "optimised"}


def _replay(client: TestClient, headers: dict[str, str], since: datetime, until: datetime, a: dict[str, Any], b: dict[str, Any]) -> Any:
    return client.post("/api/v1/ops/whatif", headers=headers, json={"since": since.isoformat(), "until": until.isoformat(), "a": a, "b": b})


def _checked(instance: routing.Instance, solver: str, **policy: Any) -> routing.CheckReport:
    """The plan a policy makes of the instance, checked by the routing library against the service's cost model."""
    mine = whatif.under(instance, whatif.Policy(solver, **policy))
    shipments, _ = whatif.solve(mine, solver)
    plan = routing.Plan(tuple(shipments), (), routing.CostBreakdown(0, 0, 0, 0, 0))
    return routing.check(routing.Instance(instance.params, mine.locations, mine.stock, mine.orders), plan)


def test_the_replay_is_the_window_as_it_stood(
    client: TestClient, ops: dict[str, str], session: Session, make_location: Callable[..., Any], make_product: Callable[..., Any],
    stock_of: Callable[..., None],
) -> None:
    near = make_location(kind=LocationKind.STORE, lat=45.75, lon=4.85).id
    other = make_location(kind=LocationKind.STORE, lat=45.70, lon=4.80).id
    far = make_location(kind=LocationKind.WAREHOUSE, lat=48.85, lon=2.35, pick_cost_per_unit=0.5).id
    a, b = make_product().gtin, make_product().gtin
    stock_of(near, a, 5)
    stock_of(near, b, 2, safety=1)
    stock_of(other, b, 3)
    stock_of(far, a, 10)
    stock_of(far, b, 10)
    earlier = place(client, ops, {a: 1}, ship_to=LYON)  # before the window: its unit stays reserved at the start
    since = datetime.now(UTC)
    inside = [place(client, ops, {a: 2}, ship_to=LYON), place(client, ops, {a: 3, b: 2}, ship_to=LYON),
              place_pickup(client, ops, near, {b: 1})]
    stock_of(near, b, 40)  # received after the window started: not part of the replay's stock
    stock_of(far, a, 7)
    until = datetime.now(UTC)
    place(client, ops, {b: 1}, ship_to=LYON)  # after the window
    decisions_before = session.scalar(select(func.count()).select_from(RoutingDecision))
    events_before = session.scalar(select(func.count()).select_from(StockEvent))

    answer = _replay(client, ops, since, until, GREEDY, OPTIMISED)
    assert answer.status_code == 200, answer.text
    body = answer.json()

    # The instance: exactly the window's orders, in arrival order, and the stock at its start.
    win = whatif.window(session, Settings(), since, until)
    assert [o.id for o in win.instance.orders] == [o["external_id"] for o in inside]
    assert earlier["external_id"] not in {o.id for o in win.instance.orders}
    stock = {(s.location, s.sku): (s.on_hand, s.safety) for s in win.instance.stock}
    assert stock == {(near, a): (5 - 1, 0), (near, b): (2, 1), (other, b): (3, 0), (far, a): (10, 0), (far, b): (10, 0)}
    assert body["instance"] | {"split_penalty": None} == {"orders": 3, "units": 8, "locations": 3, "stock_items": 5, "products": 2, "days": 1,
                                                         "split_penalty": None}

    # Each column recomputed from the policy's plan by the library's checker.
    for column, solver in zip(body["policies"], ("greedy", "optimised")):
        report = _checked(win.instance, solver)
        k = column["kpis"]
        assert report.feasible, report.violations
        assert (k["orders"], k["parcels"], k["split_orders"], k["unfilled_units"]) == (3, report.shipments, report.split_orders, report.unfilled_units)
        assert k["cost"] == pytest.approx(report.cost.total, abs=1e-3)
        assert k["shipping"] + k["picking"] == pytest.approx(report.cost.shipping + report.cost.picking, abs=1e-3)
        assert k["cost_per_order"] == pytest.approx(report.cost.total / 3, abs=1e-3)
        assert k["split_rate"] == pytest.approx(report.split_orders / 3)
    greedy, optimised = (c["kpis"] for c in body["policies"])
    assert optimised["cost"] <= greedy["cost"] + 1e-6
    assert body["difference"]["cost"] == pytest.approx(optimised["cost"] - greedy["cost"], abs=1e-3)
    assert body["better"]["cost"] == (None if optimised["cost"] == greedy["cost"] else "B")

    # Intake routed each order alone against the same stock (nothing moved until they were in): a realtime replay is
    # what was decided, figure for figure.
    realtime = _replay(client, ops, since, until, {"solver": "realtime"}, GREEDY).json()["policies"][0]["kpis"]
    decided = body["as_decided"]
    assert decided["undecided_orders"] == 0
    for key in ("orders", "parcels", "split_orders", "unfilled_units", "promise_misses", "km_per_parcel"):
        assert decided["kpis"][key] == realtime[key], key
    assert decided["kpis"]["cost"] == pytest.approx(realtime["cost"], abs=1e-3)
    assert decided["kpis"]["shipping"] is None

    # A replay writes nothing.
    assert session.scalar(select(func.count()).select_from(RoutingDecision)) == decisions_before
    assert session.scalar(select(func.count()).select_from(StockEvent)) == events_before


def test_safety_stock_none_uses_the_units_kept_back(
    client: TestClient, ops: dict[str, str], session: Session, make_location: Callable[..., Any], make_product: Callable[..., Any],
    stock_of: Callable[..., None],
) -> None:
    store = make_location(kind=LocationKind.STORE, lat=45.75, lon=4.85).id
    a = make_product().gtin
    stock_of(store, a, 3, safety=2)
    since = datetime.now(UTC)
    place(client, ops, {a: 3}, ship_to=LYON)  # only one unit is free for orders: two are unfilled
    answer = _replay(client, ops, since, datetime.now(UTC), GREEDY, {"solver": "greedy", "safety_stock": "none"})
    assert answer.status_code == 200, answer.text
    kept, used = (c["kpis"] for c in answer.json()["policies"])
    assert (kept["unfilled_units"], used["unfilled_units"]) == (2, 0)
    assert answer.json()["better"]["unfilled_units"] == "B"
    assert answer.json()["as_decided"]["kpis"]["unfilled_units"] == 2


def test_a_higher_split_penalty_never_splits_more(
    client: TestClient, ops: dict[str, str], make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> None:
    """Two stores beside the customer hold one product each; a warehouse far away holds both. Two parcels from
    the stores cost less than one from the warehouse until the split penalty makes the second parcel too dear."""
    left = make_location(kind=LocationKind.STORE, lat=45.75, lon=4.85).id
    right = make_location(kind=LocationKind.STORE, lat=45.77, lon=4.83).id
    far = make_location(kind=LocationKind.WAREHOUSE, lat=48.85, lon=2.35).id
    a, b = make_product().gtin, make_product().gtin
    stock_of(left, a, 5)
    stock_of(right, b, 5)
    for gtin in (a, b):
        stock_of(far, gtin, 5)
    since = datetime.now(UTC)
    for _ in range(3):
        place(client, ops, {a: 1, b: 1}, ship_to=LYON)
    until = datetime.now(UTC)
    splits = []
    for penalty in (0.0, 1.0, 5.0, 50.0):
        answer = _replay(client, ops, since, until, {"solver": "optimised", "split_penalty": penalty}, {"solver": "realtime", "split_penalty": penalty})
        assert answer.status_code == 200, answer.text
        optimised, realtime = (c["kpis"] for c in answer.json()["policies"])
        assert optimised["split_orders"] == realtime["split_orders"]
        splits.append(optimised["split_orders"])
    assert splits == sorted(splits, reverse=True)
    assert (splits[0], splits[-1]) == (3, 0)


def test_bad_windows_are_refused_with_a_reason(
    client: TestClient, ops: dict[str, str], auth: Callable[..., dict[str, str]], make_location: Callable[..., Any],
    make_product: Callable[..., Any], stock_of: Callable[..., None], monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = datetime.now(UTC)
    refused = {
        "window_empty": (now - timedelta(hours=1), now - timedelta(hours=2)),
        "window_too_long": (now - timedelta(days=8, seconds=1), now),
        "window_in_future": (now + timedelta(hours=1), now + timedelta(hours=2)),
    }
    for code, (since, until) in refused.items():
        answer = _replay(client, ops, since, until, GREEDY, OPTIMISED)
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == code and answer.json()["error"]["message"]
    assert _replay(client, ops, now - timedelta(days=7), now, GREEDY, OPTIMISED).status_code == 200  # 7 days is allowed

    store = make_location().id
    gtin = make_product().gtin
    stock_of(store, gtin, 5)
    for _ in range(3):
        place(client, ops, {gtin: 1}, ship_to=LYON)
    monkeypatch.setattr(whatif, "MAX_ORDERS", 2)
    too_many = _replay(client, ops, now, datetime.now(UTC), GREEDY, OPTIMISED)
    assert too_many.status_code == 409 and too_many.json()["error"]["details"] == {"orders": 3, "max_orders": 2}

    body = {"since": now.isoformat(), "until": (now + timedelta(hours=1)).isoformat(), "a": GREEDY, "b": OPTIMISED}
    for field, value in (("since", "2026-01-01T00:00:00"), ("a", {"solver": "cheapest"}), ("b", {"solver": "greedy", "split_penalty": -1})):
        answer = client.post("/api/v1/ops/whatif", headers=ops, json=body | {field: value})
        assert answer.status_code == 422 and answer.json()["error"]["details"][0]["field"].startswith(f"body.{field}"), answer.text
    for role, location in (("picker", store), ("channel", None), ("device", store)):
        assert client.post("/api/v1/ops/whatif", headers=auth(role, location), json=body).status_code == 403
    assert client.post("/api/v1/ops/whatif", json=body).status_code == 401


def test_the_page_shows_both_policies_as_the_api_does(
    client: TestClient, ops: dict[str, str], make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> None:
    store = make_location(kind=LocationKind.STORE, lat=45.75, lon=4.85).id
    gtin = make_product().gtin
    stock_of(store, gtin, 2)
    since = datetime.now(UTC)
    place(client, ops, {gtin: 3}, ship_to=LYON)
    until = since + timedelta(minutes=2)
    query = {"since": since.replace(tzinfo=None).isoformat(), "until": until.strftime("%Y-%m-%dT%H:%M"), "a_solver": "greedy", "a_split": "2",
             "a_safety": "recorded", "b_solver": "optimised", "b_split": "0", "b_safety": "none", "run": "1"}
    assert client.get("/ops/whatif", params=query, follow_redirects=False).headers["location"] == "/ops"  # signed out: sign in first
    assert client.post("/ops", data={"token": ops["Authorization"].split()[1]}, follow_redirects=False).status_code == 303
    page = client.get("/ops/whatif", params=query)
    assert page.status_code == 200
    html = page.text
    assert "Policy A against policy B" in html and 'aria-label="Policy B split penalty"' in html
    api = _replay(client, ops, since, until, {"solver": "greedy", "split_penalty": 2}, {"solver": "optimised", "split_penalty": 0, "safety_stock": "none"}).json()
    for column in api["policies"]:
        assert f"{column['kpis']['cost']:.2f}" in html
    assert api["policies"][0]["kpis"]["unfilled_units"] == 1 and api["better"]["unfilled_units"] is None
    bad = client.get("/ops/whatif", params=query | {"until": query["since"]})
    assert bad.status_code == 200 and 'role="alert"' in bad.text and "ends before it starts" in bad.text
    assert "role=\"alert\"" in client.get("/ops/whatif", params=query | {"a_split": "-3"}).text

"""Constraints, fallback, determinism, real-time state, re-optimisation, explanations and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import routing
from fulfil.cli import main as cli


def _one_sku(example: dict[str, Any], on_hand: int, safety: int, capacity: int, orders: int) -> routing.Instance:
    example["locations"][1]["capacity"] = capacity
    example["stock"] = [{"location": "ST-LYON-01", "sku": "A", "on_hand": on_hand, "safety": safety},
                        {"location": "DC-PARIS", "sku": "A", "on_hand": 100}]
    example["orders"] = [{"id": f"W-{i}", "channel": "web", "ship_to": {"lat": 45.70, "lon": 4.90}, "promise_days": 2,
                          "lines": [{"sku": "A", "qty": 1}]} for i in range(orders)]
    return routing.instance_from_dict(example)


@pytest.mark.parametrize("solve", ["greedy", "optimal"])
def test_capacity_and_safety_stock(example: dict[str, Any], solve: str) -> None:
    inst = _one_sku(example, on_hand=10, safety=3, capacity=5, orders=8)  # 7 usable, 5 parcels
    plan = routing.solve_greedy(inst) if solve == "greedy" else routing.solve_optimal(inst, routing.Options(time_limit=2))
    at_lyon = [s for s in plan.shipments if s.location == "ST-LYON-01"]
    assert len(at_lyon) == 5
    assert routing.check(inst, plan).feasible
    inst = _one_sku(example, on_hand=4, safety=3, capacity=40, orders=3)  # only 1 usable
    plan = routing.solve_greedy(inst) if solve == "greedy" else routing.solve_optimal(inst, routing.Options(time_limit=2))
    assert sum(1 for s in plan.shipments if s.location == "ST-LYON-01") == 1


def test_promise_is_a_hard_limit(example: dict[str, Any]) -> None:
    inst = _one_sku(example, on_hand=0, safety=0, capacity=40, orders=1)
    # Paris -> Lyon area is ~420 km: handling 1 + transit 2 = 3 days > promise 2: unfilled.
    plan = routing.solve_optimal(inst, routing.Options(time_limit=2))
    assert plan.shipments == () and plan.cost.unfilled == 250.0
    bad = routing.Plan((routing.Shipment("W-0", "DC-PARIS", (routing.ShipmentLine("A", 1),)),), (), plan.cost)
    report = routing.check(inst, bad)
    assert not report.feasible and "promise" in report.violations[0]


def test_exclusion_is_respected(example: dict[str, Any]) -> None:
    example["orders"][0]["exclude_locations"] = ["ST-LYON-01"]
    example["orders"][0]["promise_days"] = None
    example["stock"].append({"location": "DC-PARIS", "sku": "08712345678906", "on_hand": 5})
    inst = routing.instance_from_dict(example)
    for plan in (routing.solve_greedy(inst), routing.solve_optimal(inst, routing.Options(time_limit=2))):
        assert [s.location for s in plan.shipments if s.order == "W-1001"] == ["DC-PARIS"]
        assert routing.check(inst, plan).feasible


@pytest.fixture(scope="module")
def mid() -> routing.Instance:
    return routing.generate(300, 40, seed=7)


def test_optimal_beats_greedy_and_bound_holds(mid: routing.Instance) -> None:
    greedy = routing.solve_greedy(mid)
    plan = routing.solve_optimal(mid, routing.Options(time_limit=5))
    report = routing.check(mid, plan)
    assert report.feasible and report.cost_agrees
    assert plan.cost.total <= greedy.cost.total + 1e-6
    assert plan.lower_bound is not None and plan.lower_bound <= plan.cost.total + 1e-6


def test_tiny_time_limit_still_feasible_and_no_worse_than_greedy(mid: routing.Instance) -> None:
    greedy = routing.solve_greedy(mid)
    plan = routing.solve_optimal(mid, routing.Options(time_limit=0.01))
    assert routing.check(mid, plan).feasible
    assert plan.cost.total <= greedy.cost.total + 1e-6
    # Never silent: the guard fired, the plan says where, and no trivial bound stands in for the LP's.
    assert plan.solver is not None and plan.solver.status == "time limit"
    assert plan.solver.details["guard_fired_in"] and any("guard fired" in w for w in plan.solver.details["warnings"])
    assert plan.lower_bound is None or plan.lower_bound <= plan.cost.total


def test_deterministic_for_seed_and_workers(mid: routing.Instance) -> None:
    a = routing.plan_to_dict(routing.solve_optimal(mid, routing.Options(time_limit=8, seed=3)))
    b = routing.plan_to_dict(routing.solve_optimal(mid, routing.Options(time_limit=8, seed=3)))
    assert a["shipments"] == b["shipments"] and a["cost"] == b["cost"]


def test_realtime_route_reserve_release(example: dict[str, Any]) -> None:
    inst = _one_sku(example, on_hand=3, safety=1, capacity=40, orders=0)
    state = routing.RoutingState(inst)
    order = routing.Order("N-1", "web", (routing.OrderLine("A", 1),), ship_to=(45.70, 4.90), promise_days=2)
    first = state.reserve(order)
    assert [s.location for s in first.shipments] == ["ST-LYON-01"]
    assert state.available("ST-LYON-01", "A") == 1
    state.reserve(routing.Order("N-2", "web", (routing.OrderLine("A", 1),), ship_to=(45.70, 4.90), promise_days=2))
    third = state.route(routing.Order("N-3", "web", (routing.OrderLine("A", 1),), ship_to=(45.70, 4.90), promise_days=2))
    assert third.unfilled == {"A": 1}  # Paris is too slow for the promise, Lyon is empty
    state.release("N-1")
    assert state.available("ST-LYON-01", "A") == 1
    with pytest.raises(routing.UnknownOrder):
        state.release("nope")


def test_reoptimize_keeps_started_and_reports_moves(mid: routing.Instance) -> None:
    greedy = routing.solve_greedy(mid)
    started = {(s.order, s.location) for s in greedy.shipments[:50]}
    plan, moves = routing.reoptimize(mid, greedy, started, routing.Options(time_limit=5))
    kept = {(s.order, s.location) for s in plan.shipments}
    assert started <= kept
    assert routing.check(mid, plan).feasible
    assert plan.cost.total <= greedy.cost.total + 1e-6
    assert all(m.before != m.after for m in moves) and moves


def test_explanations_for_every_order(mid: routing.Instance) -> None:
    plan = routing.solve_optimal(mid, routing.Options(time_limit=5, explain=True))
    assert plan.explanations is not None and set(plan.explanations) == {o.id for o in mid.orders}
    reasons = {b["constraint"] for e in plan.explanations.values() for b in e["binding"]}
    assert reasons <= {"capacity full", "safety stock", "promise date", "no stock", "stock taken by other orders", "excluded"}
    assert "no stock" in reasons


def test_cli_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inst, plan = tmp_path / "i.json", tmp_path / "p.json"
    assert cli(["routing", "generate", "--orders", "60", "--locations", "15", "--seed", "2", "-o", str(inst)]) == 0
    assert cli(["routing", "solve", str(inst), "--time-limit", "3", "-o", str(plan)]) == 0
    capsys.readouterr()
    assert cli(["routing", "check", str(inst), str(plan)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["feasible"] and report["cost_agrees"]
    assert report["cost"]["total"] == pytest.approx(json.loads(plan.read_text())["cost"]["total"], abs=1e-4)
    doc = json.loads(plan.read_text())
    doc["shipments"][0]["lines"][0]["qty"] += 1000
    plan.write_text(json.dumps(doc))
    assert cli(["routing", "check", str(inst), str(plan)]) == 1


def test_cli_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "fulfil.routing-instance/1", "params": {}}')
    assert cli(["routing", "solve", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "params.transit_days" in err and "Traceback" not in err
    assert cli(["routing", "solve", str(tmp_path / "missing.json")]) == 2
    bad.write_text("not json")
    assert cli(["routing", "check", str(bad), str(bad)]) == 2


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders=st.integers(1, 25), locations=st.integers(1, 8), seed=st.integers(0, 10_000))
def test_property_feasible_and_above_bound(orders: int, locations: int, seed: int) -> None:
    inst = routing.generate(orders, locations, seed)
    plan = routing.solve_optimal(inst, routing.Options(time_limit=2))
    report = routing.check(inst, plan)
    assert report.feasible and report.cost_agrees
    assert plan.lower_bound is not None and plan.lower_bound <= report.cost.total + 1e-6
    assert report.cost.total <= routing.check(inst, routing.solve_greedy(inst)).cost.total + 1e-6


def test_nothing_to_route_among_uncapped_locations_is_an_empty_plan(example: dict[str, Any]) -> None:
    """No order, no stock, no location with a capacity: the LP has no row at all (HiGHS: an empty model). Its duals
    once indexed a missing row (IndexError, a 500 from the what-if replay of an empty window)."""
    example["orders"], example["stock"] = [], []
    for location in example["locations"]:
        location["capacity"] = None
    plan = routing.solve_optimal(routing.instance_from_dict(example), routing.Options(time_limit=2))
    assert plan.shipments == () and plan.unfilled == () and plan.cost.total == 0

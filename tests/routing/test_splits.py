"""Forced and avoidable splits, consolidation, and the plain-MIP baseline of the benchmarks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import routing
from routing.greedy import greedy_allocations
from routing.network import Network, Resources
from routing.plain import solve_plain
from routing.plan import allocations_cost, shipments_of
from routing.splits import consolidate, forced_split_orders, split_summary


def _order(oid: str, lines: dict[str, int], lat: float = 45.70, lon: float = 4.90) -> dict[str, Any]:
    return {"id": oid, "channel": "web", "ship_to": {"lat": lat, "lon": lon},
            "lines": [{"sku": s, "qty": q} for s, q in lines.items()]}


def test_forced_split_counter_by_hand(example: dict[str, Any]) -> None:
    example["stock"] = [
        {"location": "DC-PARIS", "sku": "A", "on_hand": 5},
        {"location": "ST-LYON-01", "sku": "B", "on_hand": 5},
        {"location": "ST-LYON-01", "sku": "C", "on_hand": 3, "safety": 2},  # one usable unit
        {"location": "DC-PARIS", "sku": "C", "on_hand": 1},
    ]
    example["orders"] = [
        _order("AB", {"A": 1, "B": 1}),    # no location holds both: forced
        _order("A", {"A": 2}),             # Paris holds it whole
        _order("C2", {"C": 2}),            # one usable unit in each place: forced
        _order("BC", {"B": 1, "C": 1}),    # Lyon holds both (net of safety stock)
        _order("Z", {"Z": 1}),             # nobody holds Z: no location at all, forced
    ]
    net = Network(routing.instance_from_dict(example))
    assert forced_split_orders(net) == {0, 2, 4}
    lyon, paris = net.index["ST-LYON-01"], net.index["DC-PARIS"]
    allocs = [{paris: {"A": 1}, lyon: {"B": 1}}, {paris: {"A": 2}}, {paris: {"C": 1}, lyon: {"C": 1}},
              {lyon: {"B": 1}, paris: {"C": 1}}, {}]
    assert split_summary(net, allocs) == routing.splits.SplitSummary(split=3, forced=2, avoidable=1)


def test_consolidation_moves_the_order_in_the_way(example: dict[str, Any]) -> None:
    # Lyon holds one A and one B, Paris one A. Y (only A, first come) takes Lyon's A, so greedy splits X (A+B).
    example["stock"] = [
        {"location": "ST-LYON-01", "sku": "A", "on_hand": 1},
        {"location": "ST-LYON-01", "sku": "B", "on_hand": 1},
        {"location": "DC-PARIS", "sku": "A", "on_hand": 1},
    ]
    example["orders"] = [_order("Y", {"A": 1}), _order("X", {"A": 1, "B": 1})]
    inst = routing.instance_from_dict(example)
    net = Network(inst)
    allocs = greedy_allocations(net)
    assert len(allocs[1]) == 2
    res = Resources(net)
    res.take_all(allocs)
    before = allocations_cost(net, allocs)
    assert consolidate(net, allocs, res, deadline=float("inf")) == 1
    assert allocs[1] == {net.index["ST-LYON-01"]: {"A": 1, "B": 1}}
    assert allocs[0] == {net.index["DC-PARIS"]: {"A": 1}}
    assert allocations_cost(net, allocs) < before
    plan = routing.solve_optimal(inst, routing.Options(time_limit=2))
    assert routing.check(inst, plan).split_orders == 0


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders=st.integers(5, 80), locations=st.integers(2, 12), seed=st.integers(0, 10_000))
def test_consolidation_never_increases_cost(orders: int, locations: int, seed: int) -> None:
    inst = routing.generate(orders, locations, seed)
    net = Network(inst)
    allocs = greedy_allocations(net)
    res = Resources(net)
    res.take_all(allocs)
    before = allocations_cost(net, allocs)
    avoidable = split_summary(net, allocs).avoidable
    consolidate(net, allocs, res, deadline=float("inf"))
    after = allocations_cost(net, allocs)
    assert after <= before + 1e-9
    if after >= before - 1e-9:  # no saving: only split-reducing moves were made
        assert split_summary(net, allocs).split <= split_summary(net, greedy_allocations(net)).split
    plan = routing.Plan(tuple(shipments_of(net, allocs)), (), routing.solve_greedy(inst).cost)
    assert routing.check(inst, plan).feasible
    # What is left matches the allocations exactly.
    fresh = Resources(net)
    fresh.take_all(allocs)
    assert fresh.avail == res.avail and fresh.cap_left == res.cap_left
    assert split_summary(net, allocs).avoidable <= avoidable or after < before - 1e-9


def test_plain_mip_reaches_the_optimum_on_a_small_batch() -> None:
    inst = routing.generate(40, 8, seed=3)
    net = Network(inst)
    plain = solve_plain(net, 20.0, "SCIP")
    assert plain.found and plain.status == "optimal" and plain.cost is not None and plain.bound is not None
    assert plain.bound <= plain.cost + 1e-6
    ours = routing.solve_optimal(inst, routing.Options(time_limit=3))
    assert plain.cost <= ours.cost.total + 1e-6  # a proven optimum is no worse than any plan
    assert ours.lower_bound is not None and ours.lower_bound <= plain.cost + 1e-6


@pytest.mark.parametrize("backend", ["SCIP", "CP-SAT"])
def test_plain_mip_without_solution_says_so(backend: str) -> None:
    net = Network(routing.generate(600, 60, seed=1))
    plain = solve_plain(net, 0.05, backend)  # far too short for 600 orders: no plan, and that is reported
    assert plain.seconds < 5.0
    assert not plain.found and plain.cost is None and plain.allocs is None
    assert plain.status in ("no solution", "abandoned at deadline", "unknown")

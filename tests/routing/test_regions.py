"""Large batches as regions in parallel processes (routing/regions.py): the shares add up, the merged plan is feasible,
never dearer than greedy, deterministic, and its bound (the whole batch's, at the regions' duals) is valid."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import routing
from fulfil.cli import main as cli
from routing.greedy import greedy_allocations
from routing.network import Network
from routing.pairs import build_pairs
from tests.routing.lp_reference import full_lp
from routing.regions import REGION_ORDERS, allot, home_locations, partition, region_count, sub_instance


@pytest.fixture(scope="module")
def inst() -> routing.Instance:
    return routing.generate(600, 60, seed=3)


def test_region_count_follows_the_batch_size_the_workers_and_the_request() -> None:
    assert region_count(2 * REGION_ORDERS - 1, None, 2) == 1
    assert region_count(2 * REGION_ORDERS, None, 2) == 2
    assert region_count(100_000, None, 2) == 4
    assert region_count(100_000, None, 1) == 1  # one worker: the batch whole
    assert region_count(100_000, 1, 2) == 1 and region_count(600, 3, 1) == 3 and region_count(2, 5, 2) == 2


def test_partition_gives_every_location_a_region_split_by_geography(inst: routing.Instance) -> None:
    net = Network(inst)
    homes = home_locations(net)
    for k in (2, 3, 5):
        region = partition(net, homes, k)
        assert set(region.tolist()) == set(range(k))
        orders = np.bincount(region[homes[homes >= 0]], minlength=k)
        # Balanced by the orders at home there, to within what one location holds (a cut cannot split a location).
        heaviest = int(np.bincount(homes[homes >= 0]).max())
        assert orders.max() - orders.min() <= 2 * heaviest, (orders, heaviest)
        assert np.array_equal(partition(net, homes, k), region)  # deterministic
    two = partition(net, homes, 2)
    # One straight cut along the wider axis: the two regions do not interleave along it.
    x = net.lon * np.cos(np.radians(net.lat.mean()))
    axis = x if np.ptp(x) >= np.ptp(net.lat) else net.lat
    assert axis[two == 0].max() <= axis[two == 1].min() or axis[two == 1].max() <= axis[two == 0].min()


def test_shares_add_up_to_what_there_is_and_cover_what_greedy_used(inst: routing.Instance) -> None:
    net = Network(inst)
    greedy = greedy_allocations(net)
    homes = home_locations(net)
    region_of_loc = partition(net, homes, 3)
    order_region = np.where(homes >= 0, region_of_loc[np.maximum(homes, 0)], 0)
    stock, slots = allot(net, greedy, order_region, region_of_loc, 3)
    for key, avail in net.avail.items():
        assert sum(share.get(key, 0) for share in stock) == avail
    for loc, cap in enumerate(net.capacity):
        if cap is not None:
            assert sum(share.get(loc, 0) for share in slots) <= cap
    for o, alloc in enumerate(greedy):
        r = int(order_region[o])
        for loc, lines in alloc.items():
            assert slots[r].get(loc, 0) >= 1 or net.capacity[loc] is None
            for sku, qty in lines.items():
                assert stock[r][(loc, sku)] >= qty
    # Each region's instance holds its orders and only its share.
    sub = sub_instance(net, np.flatnonzero(order_region == 0).tolist(), stock[0], slots[0])
    assert len(sub.orders) == int((order_region == 0).sum())
    assert sum(s.on_hand for s in sub.stock) == sum(stock[0].values())


def test_a_batch_solved_as_regions_is_feasible_no_dearer_than_greedy_and_deterministic(inst: routing.Instance) -> None:
    options = routing.Options(time_limit=20, regions=3)
    plan = routing.solve_optimal(inst, options)
    report = routing.check(inst, plan)
    assert report.feasible and report.cost_agrees, report.violations[:3]
    greedy = routing.check(inst, routing.solve_greedy(inst)).cost.total
    assert plan.cost.total < greedy  # the regions' pipeline improves on greedy here
    assert plan.solver is not None
    details = plan.solver.details
    assert [r["orders"] for r in details["regions"]] and sum(r["orders"] for r in details["regions"]) == len(inst.orders)
    assert all(r["guard_fired_in"] is None for r in details["regions"]) and details["guard_fired_in"] is None
    # The bound is the whole batch's, priced at the regions' duals (their own bounds are of restricted problems).
    assert details["lp"]["status"] == "regions' duals" and details["bound_kind"] == "pattern"
    assert plan.lower_bound is not None and plan.lower_bound <= plan.cost.total
    assert details["warnings"] == []
    whole = routing.solve_optimal(inst, routing.Options(time_limit=20, regions=1))
    assert whole.solver is not None and "regions" not in whole.solver.details
    assert plan.cost.total <= 1.02 * whole.cost.total  # within 2% of the whole batch's plan on this instance
    assert plan.lower_bound <= whole.cost.total + 1e-6
    again = routing.solve_optimal(inst, options)
    assert again.shipments == plan.shipments and again.lower_bound == plan.lower_bound


def test_the_bound_from_the_regions_duals_is_below_the_lp_and_the_integer_optimum() -> None:
    """Weak duality at duals that are not the batch's own: the LP-kind value below the full LP's optimum (GLOP over
    every pair), the plan's bound below SCIP's proven optimum."""
    from routing.plain import solve_plain
    from routing.regions import global_bound, region_duals
    from routing.solver import Options, solve_whole

    inst = routing.generate(60, 12, seed=7)
    net = Network(inst)
    homes = home_locations(net)
    region_of_loc = partition(net, homes, 2)
    order_region = np.where(homes >= 0, region_of_loc[np.maximum(homes, 0)], 0)
    stock, slots = allot(net, greedy_allocations(net), order_region, region_of_loc, 2)
    parts = []
    for r in range(2):
        _plan, lp, sub_net = solve_whole(sub_instance(net, np.flatnonzero(order_region == r).tolist(), stock[r], slots[r]),
                                         Options(time_limit=10, regions=1))
        assert lp is not None and lp.duals is not None
        parts.append(region_duals(sub_net, lp.duals))
    at_regions = global_bound(net, build_pairs(net), parts)
    assert at_regions.bound is not None and at_regions.bound <= full_lp(net) + 1e-6
    plain = solve_plain(net, 30.0, "SCIP")
    assert plain.status == "optimal" and plain.cost is not None
    plan = routing.solve_optimal(inst, routing.Options(time_limit=10, regions=2))
    assert plan.lower_bound is not None and plan.lower_bound <= plain.cost + 1e-6 * max(1.0, plain.cost)
    assert routing.check(inst, plan).feasible


def test_the_command_takes_regions(tmp_path: Path) -> None:
    path, out = tmp_path / "inst.json", tmp_path / "plan.json"
    assert cli(["routing", "generate", "--orders", "400", "--locations", "40", "--seed", "2", "-o", str(path)]) == 0
    done = subprocess.run([str(Path(sys.executable).parent / "fulfil"), "routing", "solve", str(path), "--regions", "2",
                           "--time-limit", "20", "--strict", "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert len(doc["solver"]["regions"]) == 2 and doc["lower_bound"] is not None
    report = routing.check(routing.load_instance(path), routing.plan_from_dict(doc))
    assert report.feasible and report.cost_agrees

"""The anytime optimiser's contract: a valid bound, the same plan at any load, a guard that holds and is reported."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import routing
from fulfil.cli import main as cli
from routing.colgen import solve_lp
from routing.guard import Guard
from routing.network import Network
from routing.pairs import build_pairs
from routing.plain import solve_plain
from tests.routing.lp_reference import full_lp


def _tolerance(value: float) -> float:
    return 1e-6 * max(1.0, abs(value))


@pytest.mark.parametrize("orders,locations,seed", [(40, 8, 3), (120, 15, 11), (300, 40, 7)])
def test_bound_is_the_full_lp_optimum_and_valid_before_it(orders: int, locations: int, seed: int) -> None:
    net = Network(routing.generate(orders, locations, seed))
    exact = full_lp(net)
    table = build_pairs(net)
    none = np.zeros(0, dtype=np.int64)
    first = solve_lp(net, table, none, 10**9, 1, Guard.after(60))  # one round: the master on a few pairs per order
    assert first.bound is not None and first.bound <= exact + _tolerance(exact)
    done = solve_lp(net, table, none, 10**9, 100, Guard.after(60))
    assert done.status == "optimal" and done.bound is not None
    assert done.bound == pytest.approx(exact, rel=1e-6, abs=1e-6)
    assert first.bound <= done.bound + _tolerance(exact)


def test_bound_below_the_integer_optimum() -> None:
    inst = routing.generate(40, 8, seed=5)
    net = Network(inst)
    plain = solve_plain(net, 30.0, "SCIP")
    assert plain.status == "optimal" and plain.cost is not None
    plan = routing.solve_optimal(inst, routing.Options(time_limit=5))
    assert plan.lower_bound is not None and plan.lower_bound <= plain.cost + _tolerance(plain.cost)
    assert plain.cost <= plan.cost.total + _tolerance(plain.cost)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders=st.integers(1, 60), locations=st.integers(1, 10), seed=st.integers(0, 10_000))
def test_bound_below_every_plan(orders: int, locations: int, seed: int) -> None:
    inst = routing.generate(orders, locations, seed)
    plan = routing.solve_optimal(inst, routing.Options(time_limit=3))
    greedy = routing.solve_greedy(inst)
    assert routing.check(inst, plan).feasible
    assert plan.lower_bound is not None
    for other in (plan, greedy):
        assert plan.lower_bound <= routing.check(inst, other).cost.total + _tolerance(other.cost.total)


def _fingerprint(plan: routing.Plan) -> dict[str, Any]:
    doc = routing.plan_to_dict(plan)
    details = dict(doc["solver"])
    lp = {k: v for k, v in details["lp"].items() if k != "seconds"}
    return {"shipments": doc["shipments"], "cost": doc["cost"], "lower_bound": doc["lower_bound"],
            "status": details["status"], "lp": lp, "lns": details.get("lns"), "moves": details.get("local_search_moves")}


def test_same_plan_with_and_without_a_cpu_hog() -> None:
    inst = routing.generate(800, 80, seed=5)
    # A generous limit for little work: the guard must not be what ends any step, even with the hog running.
    options = routing.Options(time_limit=60, effort=0.1, seed=4)
    quiet = routing.solve_optimal(inst, options)
    hog = subprocess.Popen([sys.executable, "-c", "while 1: pass"])
    try:
        busy = routing.solve_optimal(inst, options)
    finally:
        hog.kill()
        hog.wait()
    for plan in (quiet, busy):
        assert plan.solver is not None and plan.solver.details["guard_fired_in"] is None, plan.solver.details
        assert routing.check(inst, plan).feasible
    assert _fingerprint(quiet) == _fingerprint(busy)
    assert quiet.solver is not None and quiet.solver.details["lns"]["steps"] > 0


@pytest.fixture(scope="module")
def big_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("routing") / "big.json"
    assert cli(["routing", "generate", "--orders", "1500", "--locations", "150", "--seed", "3", "-o", str(path)]) == 0
    return path


def _fulfil(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "fulfil"), *args], capture_output=True, text=True, timeout=120)
    return done, time.perf_counter() - start


def test_guard_holds_the_whole_command_and_says_so(big_instance: Path, tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.json"
    limit = 3.0
    # Far more deterministic work than the limit allows: the guard, not the budget, ends the solve.
    done, wall = _fulfil("routing", "solve", str(big_instance), "--time-limit", str(limit), "--effort", "100",
                         "-o", str(plan_path))
    assert done.returncode == 0, done.stderr
    assert wall <= limit + 1.0, (wall, done.stderr)
    assert "guard fired" in done.stderr
    doc = json.loads(plan_path.read_text())
    assert doc["solver"]["status"] == "time limit" and doc["solver"]["guard_fired_in"]
    instance = routing.load_instance(big_instance)
    report = routing.check(instance, routing.plan_from_dict(doc))
    assert report.feasible and report.cost_agrees
    assert report.cost.total <= routing.check(instance, routing.solve_greedy(instance)).cost.total + 1e-6


def test_strict_fails_on_a_fired_guard_and_passes_otherwise(big_instance: Path, tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.json"
    done, _ = _fulfil("routing", "solve", str(big_instance), "--time-limit", "2", "--effort", "100", "--strict",
                      "--no-explain", "-o", str(plan_path))
    assert done.returncode == 3 and "--strict" in done.stderr
    assert json.loads(plan_path.read_text())["solver"]["warnings"]  # the plan is still written, with the reasons
    small = tmp_path / "small.json"
    assert cli(["routing", "generate", "--orders", "60", "--locations", "10", "--seed", "1", "-o", str(small)]) == 0
    done, _ = _fulfil("routing", "solve", str(small), "--time-limit", "20", "--strict", "-o", str(plan_path))
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and json.loads(plan_path.read_text())["solver"]["warnings"] == []

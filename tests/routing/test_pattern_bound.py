"""The pattern bound (routing/dwbound.py): exact per-order pricing, never above the integer optimum, never below the
LP's bound, the same twice, and the plan's figure equal to an independent recomputation."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from ortools.linear_solver import pywraplp

import routing
from routing import solver
from routing.colgen import LPResult, solve_lp
from routing.dwbound import BoundResult, pattern_bound
from routing.guard import Guard
from routing.network import Network
from routing.pairs import PairTable, build_pairs
from routing.patterns import PatternPricer
from routing.plain import solve_plain

NONE = np.zeros(0, dtype=np.int64)
# Enough work for the Dantzig-Wolfe master to reach its optimum on these sizes.
PLENTY = 10**9


def _tolerance(value: float) -> float:
    return 1e-6 * max(1.0, abs(value))


def order_optimum(net: Network, o: int, stock_price: dict[tuple[int, str], float], slot_price: list[float]) -> float:
    """One order's cheapest integer allocation at these prices, as a MIP on SCIP built from the Network's arcs and
    stock (not from the pair table): y per location, x per (location, sku), unfilled u, served flag f."""
    od = net.orders[o]
    p = net.params
    s = pywraplp.Solver.CreateSolver("SCIP")
    obj = s.Objective()
    obj.SetMinimization()
    demand: dict[str, Any] = {}
    for sku, q in od.demand.items():
        demand[sku] = row = s.Constraint(q, q)
        u = s.IntVar(0, q, "")
        row.SetCoefficient(u, 1)
        obj.SetCoefficient(u, p.unfilled_penalty)
    ys = []
    for arc in od.arcs:
        cap = net.capacity[arc.loc]
        if cap is not None and cap < 1:
            continue
        y = s.BoolVar("")
        ys.append(y)
        obj.SetCoefficient(y, arc.parcel + p.split_penalty + slot_price[arc.loc])
        for sku, q in od.demand.items():
            m = min(q, net.avail.get((arc.loc, sku), 0))
            if m <= 0:
                continue
            x = s.IntVar(0, m, "")
            obj.SetCoefficient(x, net.pick[arc.loc] + stock_price.get((arc.loc, sku), 0.0))
            demand[sku].SetCoefficient(x, 1)
            link = s.Constraint(-s.infinity(), 0)
            link.SetCoefficient(x, 1)
            link.SetCoefficient(y, -m)
    if od.order.existing_shipments == 0 and ys:
        f = s.BoolVar("")
        obj.SetCoefficient(f, -p.split_penalty)
        served = s.Constraint(-s.infinity(), 0)
        served.SetCoefficient(f, 1)
        for y in ys:
            served.SetCoefficient(y, -1)
    assert s.Solve() == pywraplp.Solver.OPTIMAL
    return float(obj.Value())


def _prices(net: Network, t: PairTable, stock: np.ndarray, cap: np.ndarray) -> tuple[dict[tuple[int, str], float], list[float]]:
    """Multipliers (<= 0, indexed like the LP's rows) as prices per (location, sku) and per location."""
    rows = t.rows
    by_key = {(int(rows.stock_loc[i]), rows.stock_sku[i]): -float(stock[i]) for i in range(stock.shape[0])}
    return by_key, [-float(c) for c in cap]


def recompute(net: Network, t: PairTable, stock: np.ndarray, cap: np.ndarray) -> float:
    """L(sigma, kappa) from scratch: every order's optimum by its own MIP, plus the resource terms."""
    by_key, slots = _prices(net, t, stock, cap)
    orders = sum(order_optimum(net, o, by_key, slots) for o in range(len(net.orders)))
    resources = sum(net.avail[key] * -price for key, price in by_key.items())
    resources += sum(float(c) * -slots[loc] for loc, c in enumerate(net.capacity) if c is not None)
    offset = net.params.split_penalty * sum(max(0, od.order.existing_shipments - 1) for od in net.orders)
    return orders + resources + offset


def _lp(inst: routing.Instance) -> tuple[Network, PairTable, LPResult]:
    net = Network(inst)
    table = build_pairs(net)
    lp = solve_lp(net, table, NONE, 10**9, 100, Guard.after(60))
    assert lp.status == "optimal" and lp.bound is not None
    return net, table, lp


def with_bulk_orders(inst: routing.Instance, seed: int) -> routing.Instance:
    """`inst` plus two skus held 1-3 units a location and orders wanting several units of them, so that whole
    orders need several locations: the coverage dp location by location and (many states) the branch-and-bound."""
    rng = np.random.default_rng(seed)
    stock = list(inst.stock)
    for loc in inst.locations:
        for sku in ("BULK-A", "BULK-B"):
            stock.append(routing.StockItem(loc.id, sku, int(rng.integers(1, 4)), 0))
    extra = []
    for i, lines in enumerate(([("BULK-A", 3)], [("BULK-A", 4), ("BULK-B", 2)], [("BULK-A", 9), ("BULK-B", 7), ("BULK-C", 5)],
                               [("BULK-B", 5), (inst.orders[0].lines[0].sku, 1)])):
        base = inst.orders[i]
        extra.append(routing.Order(f"BULK-{i}", "web", tuple(routing.OrderLine(s, q) for s, q in lines), ship_to=base.ship_to,
                                   pickup_at=base.pickup_at, promise_days=None))
    return routing.Instance(inst.params, inst.locations, tuple(stock), inst.orders + tuple(extra))


@pytest.mark.parametrize("seed", [2, 5, 11])
def test_pricing_is_each_orders_integer_optimum(seed: int) -> None:
    net = Network(with_bulk_orders(routing.generate(40, 8, seed), seed))
    table = build_pairs(net)
    pricer = PatternPricer(net, table)
    rng = np.random.default_rng(seed)
    # Random prices, some steep, so that orders split, leave units unfilled or skip a location.
    n_stock = table.rows.stock_avail.shape[0]
    stock = np.asarray(-rng.exponential(20.0, n_stock) * (rng.random(n_stock) < 0.5), dtype=np.float64)
    cap = np.asarray(-rng.exponential(2.0, len(net.locations)) * np.asarray([c is not None for c in net.capacity]),
                     dtype=np.float64)
    pricing = pricer.price(-stock, -cap, PLENTY)
    by_key, slots = _prices(net, table, stock, cap)
    assert pricing.searched >= 8  # not only the single-location shortcut
    assert sum(len(pairs) >= 3 for pairs in pricing.best_pairs) >= 2
    for o in range(len(net.orders)):
        best = order_optimum(net, o, by_key, slots)
        assert pricing.value[o] <= best + 1e-7, o
        if pricing.exact[o]:
            assert pricing.value[o] == pytest.approx(best, abs=1e-7), o
        assert pricing.best_cost[o] >= best - 1e-7, o
    # Only the order with 10 x 8 x 6 coverage states goes to the branch-and-bound, which may stop at its node limit.
    assert pricing.exact[:-2].all() and pricing.exact[-1]


def test_pricing_out_of_work_is_still_a_lower_bound() -> None:
    net = Network(routing.generate(40, 8, 2))
    table = build_pairs(net)
    pricer = PatternPricer(net, table)
    rng = np.random.default_rng(1)
    stock = np.asarray(-rng.exponential(3.0, table.rows.stock_avail.shape[0]), dtype=np.float64)
    cap = np.zeros(len(net.locations))
    starved = pricer.price(-stock, -cap, table.size)  # the vectorised pass only: no search affordable
    full = pricer.price(-stock, -cap, PLENTY)
    late = pricer.price(-stock, -cap, PLENTY, Guard.after(-1.0))  # the guard's deadline already past: no search
    assert starved.searched == 0 and not starved.exact.all()
    assert late.searched == 0 and late.cut == int((~late.exact).sum()) > 0
    assert np.all(starved.value <= full.value + 1e-9) and np.array_equal(late.value, starved.value)
    by_key, slots = _prices(net, table, stock, cap)
    for o in np.flatnonzero(~starved.exact).tolist():
        assert starved.value[o] <= order_optimum(net, o, by_key, slots) + 1e-9


@pytest.mark.parametrize("seed", [2, 3, 4, 5, 7])
def test_bound_between_lp_bound_and_proven_optimum(seed: int) -> None:
    inst = routing.generate(30, 8, seed)
    net, table, lp = _lp(inst)
    plain = solve_plain(net, 60.0, "SCIP")
    assert plain.status == "optimal" and plain.cost is not None
    assert lp.bound is not None
    at_duals = pattern_bound(net, table, lp, [{} for _ in net.orders], table.size * 4, 0, Guard.after(60))
    rounds = pattern_bound(net, table, lp, [{} for _ in net.orders], PLENTY, 10**6, Guard.after(60))
    assert rounds.status == "optimal" and rounds.rounds > 0
    for res in (at_duals, rounds):
        assert res.bound is not None
        assert lp.bound - _tolerance(lp.bound) <= res.bound <= plain.cost + _tolerance(plain.cost)
        # Every point tried is a valid bound, not only the best.
        assert max(res.history) == res.bound and all(v <= plain.cost + _tolerance(plain.cost) for v in res.history)
    assert at_duals.bound is not None and rounds.bound is not None and at_duals.bound <= rounds.bound + 1e-9


@pytest.mark.parametrize("seed", [3, 5])
def test_bound_valid_with_earlier_parcels(seed: int) -> None:
    # Re-optimisation keeps started shipments: such orders pay the split penalty on every new parcel.
    inst = routing.generate(30, 8, seed)
    orders = tuple(replace(o, existing_shipments=1 + i % 2) if i % 3 == 0 else o for i, o in enumerate(inst.orders))
    net, table, lp = _lp(routing.Instance(inst.params, inst.locations, inst.stock, orders))
    plain = solve_plain(net, 60.0, "SCIP")
    assert plain.status == "optimal" and plain.cost is not None and lp.bound is not None
    res = pattern_bound(net, table, lp, [{} for _ in net.orders], PLENTY, 10**6, Guard.after(60))
    assert res.bound is not None and lp.bound - 1e-6 <= res.bound <= plain.cost + _tolerance(plain.cost)
    assert lp.duals is not None
    assert res.at_lp_duals == pytest.approx(recompute(net, table, lp.duals.stock, lp.duals.cap), abs=1e-6)


def test_bound_closes_gaps_the_lp_leaves() -> None:
    # Seeds where the LP relaxation is below the integer optimum (measured): the pattern bound is strictly above it.
    gains = []
    for seed in (2, 3, 5, 7):
        net, table, lp = _lp(routing.generate(30, 8, seed))
        res = pattern_bound(net, table, lp, [{} for _ in net.orders], PLENTY, 10**6, Guard.after(60))
        assert res.bound is not None and lp.bound is not None
        gains.append(res.bound - lp.bound)
    assert min(gains) > 1.0, gains


def test_same_bound_twice() -> None:
    inst = routing.generate(200, 25, seed=9)

    def run() -> BoundResult:
        net, table, lp = _lp(inst)
        return pattern_bound(net, table, lp, [{} for _ in net.orders], table.size * 30, 10**5, Guard.after(60))

    a, b = run(), run()
    assert a.bound is not None and a.rounds > 0
    assert (a.bound, a.history, a.rounds, a.columns, a.work, a.status) == (b.bound, b.history, b.rounds, b.columns,
                                                                           b.work, b.status)


def test_bound_equals_an_independent_recomputation() -> None:
    net, table, lp = _lp(routing.generate(60, 10, seed=5))
    res = pattern_bound(net, table, lp, [{} for _ in net.orders], table.size * 4, 0, Guard.after(60))
    assert res.status == "at LP duals" and res.bound is not None and res.exact_orders == len(net.orders)
    assert lp.duals is not None
    assert res.bound == pytest.approx(recompute(net, table, lp.duals.stock, lp.duals.cap), abs=1e-6)


def test_plan_reports_the_pattern_bound_and_its_kind() -> None:
    inst = routing.generate(60, 10, seed=5)
    plan = routing.solve_optimal(inst, routing.Options(time_limit=20))
    assert plan.solver is not None and plan.lower_bound is not None
    details = plan.solver.details
    assert details["bound_kind"] == "pattern" and details["guard_fired_in"] is None
    assert plan.lower_bound == pytest.approx(details["pattern_bound"]["value"], abs=1e-6)
    assert plan.lower_bound >= details["lp"]["objective"] - 1e-6
    assert plan.lower_bound <= routing.check(inst, plan).cost.total + 1e-6
    again = routing.solve_optimal(inst, routing.Options(time_limit=20))
    assert again.lower_bound == plan.lower_bound and again.shipments == plan.shipments


def test_small_budget_falls_back_to_the_lp_bound_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    inst = routing.generate(60, 10, seed=5)
    monkeypatch.setattr(solver, "BOUND_WORK_PER_SECOND", 1)  # far below one pricing pass
    monkeypatch.setattr(solver, "BOUND_SHARE_OF_LIMIT", 0.0)  # and no single pass afforded by the limit
    plan = routing.solve_optimal(inst, routing.Options(time_limit=20))
    assert plan.solver is not None and plan.lower_bound is not None
    details = plan.solver.details
    assert details["bound_kind"] == "lp" and details["guard_fired_in"] is None
    assert details["pattern_bound"]["status"].startswith("not run: budget")
    assert plan.lower_bound == pytest.approx(details["lp"]["objective"], rel=1e-6)


def test_a_limit_long_enough_for_one_pass_affords_it_without_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large instances: the per-second budget is below a pass, but the limit's share covers one (deterministic:
    derived from the limit and the number of pairs); the pass runs at the LP's duals and no master round follows."""
    inst = routing.generate(60, 10, seed=5)
    monkeypatch.setattr(solver, "BOUND_WORK_PER_SECOND", 1)
    plan = routing.solve_optimal(inst, routing.Options(time_limit=20))
    assert plan.solver is not None and plan.lower_bound is not None
    details = plan.solver.details
    assert details["bound_kind"] == "pattern" and details["guard_fired_in"] is None
    assert details["pattern_bound"]["rounds"] == 0 and details["pattern_bound"]["status"] == "at LP duals"
    assert plan.lower_bound >= details["lp"]["objective"] - 1e-6
    assert plan.lower_bound <= routing.check(inst, plan).cost.total + 1e-6
    pairs = details["lp"]["pairs"]
    assert details["pattern_bound"]["budget"] == solver.BOUND_ONE_PASS_PER_PAIR * pairs
    monkeypatch.setattr(solver, "BOUND_SECONDS_PER_PAIR", 0.1 * 20 / pairs * 1.01)  # the share falls just short
    short = routing.solve_optimal(inst, routing.Options(time_limit=20))
    assert short.solver is not None and short.solver.details["bound_kind"] == "lp"
    assert short.solver.details["pattern_bound"]["status"].startswith("not run: budget")

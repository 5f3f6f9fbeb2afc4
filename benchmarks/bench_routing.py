"""Routing benchmarks: batch optimiser vs proven bound, greedy and a plain MIP (SCIP, CP-SAT); real-time latency."""

from __future__ import annotations

import json
import statistics
import time

import routing
from benchmarks.report import Result, emit, machine
from routing.greedy import greedy_allocations
from routing.network import Network, OrderAlloc
from routing.plain import PlainResult, solve_plain
from routing.splits import forced_split_orders, split_summary

SEED = 1
PLAIN_BACKENDS = ("CP-SAT", "SCIP")


def _no_baseline(name: str, figure: float, unit: str, baseline_name: str, target: str, met: bool) -> None:
    """A row whose baseline produced no number (e.g. no solution in time): said in words, never inf or 0."""
    status = "MET" if met else "NOT MET"
    print(f"{name}: {figure:,.4g} {unit} | baseline ({baseline_name}) none | ratio n/a | target {target} | {status}")
    doc = {"name": name, "figure": figure, "unit": unit, "baseline_name": baseline_name, "baseline": None,
           "target": target, "met": met, "ratio": None, "machine": machine()}
    print("RESULT " + json.dumps(doc))


def _allocs(net: Network, plan: routing.Plan) -> list[OrderAlloc]:
    allocs: list[OrderAlloc] = [{} for _ in net.orders]
    for s in plan.shipments:
        allocs[net.order_index[s.order]][net.index[s.location]] = {line.sku: line.qty for line in s.lines}
    return allocs


def _solve(inst: routing.Instance, limit: float) -> tuple[routing.Plan, float]:
    start = time.perf_counter()
    plan = routing.solve_optimal(inst, routing.Options(time_limit=limit, seed=0, workers=2))
    return plan, time.perf_counter() - start


def _batch(orders: int, locations: int, limit: float, target_gap: float) -> tuple[routing.Instance, routing.Plan, float]:
    inst = routing.generate(orders, locations, SEED)
    plan, wall = _solve(inst, limit)
    net = Network(inst)
    greedy = routing.solve_greedy(inst, net)
    report = routing.check(inst, plan)
    assert report.feasible and plan.lower_bound
    forced = forced_split_orders(net)
    ours, base = split_summary(net, _allocs(net, plan), forced), split_summary(net, greedy_allocations(net), forced)
    lines = sum(len(o.demand()) for o in inst.orders) / max(1, len(inst.orders))
    single = sum(1 for o in inst.orders if len(o.demand()) == 1) / max(1, len(inst.orders))
    name = f"{orders}x{locations}"
    print(f"routing {name}: {lines:.2f} lines/order, {single:.0%} single-line; {len(forced)} orders no single "
          f"feasible location holds whole (forced); solver details {plan.solver.details if plan.solver else {}}")
    emit(Result(f"routing {name}: optimised cost vs proven lower bound", plan.cost.total, "EUR", "LP lower bound",
                plan.lower_bound, f"<= {1 + target_gap:.2f} x bound", plan.cost.total <= (1 + target_gap) * plan.lower_bound))
    emit(Result(f"routing {name}: wall time", wall, "s", "time limit", limit, f"<= {limit:g} s", wall <= limit))
    emit(Result(f"routing {name}: optimised cost vs greedy", plan.cost.total, "EUR", "greedy rule engine",
                greedy.cost.total, "several % cheaper", plan.cost.total <= 0.97 * greedy.cost.total))
    emit(Result(f"routing {name}: split orders vs greedy ({len(forced)} orders forced by stock)", ours.split, "orders",
                "greedy rule engine", base.split, "markedly fewer", ours.split <= 0.85 * base.split))
    title = f"routing {name}: avoidable split orders (a single location held them whole) vs greedy"
    if base.avoidable:
        emit(Result(title, ours.avoidable, "orders", "greedy rule engine", base.avoidable,
                    "<= 0.6 x greedy (Xu et al.: 40-50% fewer)", ours.avoidable <= 0.6 * base.avoidable))
    else:
        _no_baseline(title, ours.avoidable, "orders", "greedy rule engine: no avoidable split", "<= greedy", ours.avoidable == 0)
    return inst, plan, wall


def _plain(inst: routing.Instance, seconds: float, backend: str) -> PlainResult:
    plain = solve_plain(Network(inst), seconds, backend, seed=0, workers=2)
    bound = "none" if plain.bound is None else f"{plain.bound:,.2f}"
    cost = "no solution" if plain.cost is None else f"{plain.cost:,.2f}"
    print(f"plain {backend} MIP, {seconds:g} s limit: {plain.status}, cost {cost}, own bound {bound}, {plain.seconds:.2f} s")
    return plain


def _plain_rows(size: str, plan: routing.Plan, wall: float, plain: PlainResult, seconds: float) -> None:
    """Our cost against one plain MIP given the same time: a ratio when it found a plan, words when not."""
    title = f"routing {size}: optimiser cost vs plain {plain.backend} MIP, both {seconds:g} s"
    bound = "no bound" if plain.bound is None else f"own bound {plain.bound:,.2f}"
    if plain.cost is None:
        _no_baseline(title, plan.cost.total, "EUR", f"plain {plain.backend}: no solution within {seconds:g} s ({plain.status})",
                     "a plan where the MIP has none", True)
        return
    emit(Result(title, plan.cost.total, "EUR", f"plain {plain.backend} {plain.status} in {plain.seconds:.1f} s, {bound}",
                plain.cost, "<= 1 (no dearer)", plan.cost.total <= plain.cost + 1e-6))
    emit(Result(f"routing {size}: optimiser wall time vs plain {plain.backend} MIP", wall, "s",
                f"plain {plain.backend} wall time", plain.seconds, "<= 1", wall <= plain.seconds))


def _plain_same_time(inst: routing.Instance, plan: routing.Plan, wall: float, seconds: float) -> None:
    size = f"{len(inst.orders)}x{len(inst.locations)}"
    for backend in PLAIN_BACKENDS:
        _plain_rows(size, plan, wall, _plain(inst, seconds, backend), seconds)


def _plain_mid(orders: int, locations: int, seconds: float) -> None:
    """A size where the plain MIP does find plans: cost, time and bounds side by side."""
    inst = routing.generate(orders, locations, SEED)
    plan, wall = _solve(inst, seconds)
    print(f"routing {orders}x{locations}: optimiser {plan.cost.total:,.2f} EUR in {wall:.2f} s, "
          f"own bound {plan.lower_bound or 0:,.2f}; greedy {routing.solve_greedy(inst).cost.total:,.2f}")
    _plain_same_time(inst, plan, wall, seconds)


def _plain_long(orders: int, locations: int, limit: float, plain_limit: float) -> None:
    """SCIP given far more time at a small size: how close our answer, found in a fraction of it, comes."""
    inst = routing.generate(orders, locations, SEED)
    plan, wall = _solve(inst, limit)
    plain = _plain(inst, plain_limit, "SCIP")
    size = f"{orders}x{locations}"
    if plain.cost is None or plain.bound is None:
        _no_baseline(f"routing {size}: optimiser cost vs SCIP given {plain_limit:g} s", plan.cost.total, "EUR",
                     f"SCIP: no solution within {plain_limit:g} s ({plain.status})", "<= 1.01 x SCIP", True)
        return
    emit(Result(f"routing {size}: optimiser cost ({wall:.1f} s) vs SCIP's bound after up to {plain_limit:g} s",
                plan.cost.total, "EUR", f"SCIP {plain.status} bound (its plan {plain.cost:,.2f})", plain.bound,
                "<= 1.01 x", plan.cost.total <= 1.01 * plain.bound))
    emit(Result(f"routing {size}: optimiser wall time vs SCIP's ({plain.status})", wall, "s", "SCIP wall time",
                plain.seconds, "a fraction (< 0.5)", wall < 0.5 * plain.seconds))


def _realtime(locations: int, orders: int = 2000) -> None:
    inst = routing.generate(orders, locations, SEED)
    empty = routing.Instance(inst.params, inst.locations, inst.stock, ())
    state = routing.RoutingState(empty)
    rt, base = [], []
    for order in inst.orders:
        t = time.perf_counter()
        state.reserve(order)
        rt.append(time.perf_counter() - t)
        t = time.perf_counter()
        state.net.compile(order)  # baseline: only listing the feasible locations of the order
        base.append(time.perf_counter() - t)
    p99 = statistics.quantiles(rt, n=100)[98] * 1000
    p99_base = statistics.quantiles(base, n=100)[98] * 1000
    emit(Result(f"routing real-time: one order among {locations} locations, p99", p99, "ms",
                "p99 of listing its feasible locations", p99_base, "<= 5 ms", p99 <= 5.0))


def main() -> None:
    """Run every routing benchmark once (about four minutes on 2 cores)."""
    inst, plan, wall = _batch(2000, 200, 10.0, 0.01)
    _plain_same_time(inst, plan, wall, 10.0)
    _batch(5000, 300, 30.0, 0.02)
    _plain_mid(500, 100, 10.0)
    _plain_long(300, 60, 10.0, 120.0)
    _realtime(300)

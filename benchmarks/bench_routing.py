"""Routing benchmarks: batch optimiser vs proven bound, greedy and a plain CP-SAT MIP; real-time latency."""

from __future__ import annotations

import statistics
import time

import routing
from benchmarks.report import Result, emit
from routing.mip import solve_mip
from routing.network import Network, Resources
from routing.plan import allocations_cost

SEED = 1


def _batch(orders: int, locations: int, limit: float, target_gap: float) -> tuple[routing.Instance, routing.Plan]:
    inst = routing.generate(orders, locations, SEED)
    start = time.perf_counter()
    plan = routing.solve_optimal(inst, routing.Options(time_limit=limit, seed=0, workers=2))
    wall = time.perf_counter() - start
    greedy = routing.solve_greedy(inst)
    report, greedy_report = routing.check(inst, plan), routing.check(inst, greedy)
    assert report.feasible and plan.lower_bound
    name = f"{orders}x{locations}"
    emit(Result(f"routing {name}: optimised cost vs proven lower bound", plan.cost.total, "EUR", "LP lower bound",
                plan.lower_bound, f"<= {1 + target_gap:.2f} x bound", plan.cost.total <= (1 + target_gap) * plan.lower_bound))
    emit(Result(f"routing {name}: wall time", wall, "s", "time limit", limit, f"<= {limit:g} s", wall <= limit))
    emit(Result(f"routing {name}: optimised cost vs greedy", plan.cost.total, "EUR", "greedy rule engine",
                greedy.cost.total, "several % cheaper", plan.cost.total <= 0.97 * greedy.cost.total))
    emit(Result(f"routing {name}: split orders vs greedy", report.split_orders, "orders", "greedy rule engine",
                greedy_report.split_orders, "markedly fewer", report.split_orders <= 0.85 * greedy_report.split_orders))
    return inst, plan


def _plain_mip(inst: routing.Instance, plan: routing.Plan, limit: float) -> None:
    """CP-SAT on the whole model (every order, every feasible arc), given the same wall time."""
    net = Network(inst)
    start = time.perf_counter()
    mip = solve_mip(net, {o: list(od.arcs) for o, od in enumerate(net.orders)}, Resources(net),
                    start + limit, seed=0, workers=2, deterministic=False)
    cost = float("inf")
    if mip.allocs is not None:
        cost = allocations_cost(net, [mip.allocs.get(o, {}) for o in range(len(net.orders))])
    emit(Result(f"routing {len(net.orders)}x{len(net.locations)}: optimiser cost vs plain CP-SAT MIP ({mip.status})",
                plan.cost.total, "EUR", f"plain CP-SAT, {limit:g} s", cost, "< 1 (cheaper)", plan.cost.total < cost))


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
    """Run every routing benchmark once (about two minutes on 2 cores)."""
    inst, plan = _batch(2000, 200, 10.0, 0.01)
    _plain_mip(inst, plan, 10.0)
    _batch(5000, 300, 30.0, 0.02)
    _realtime(300)

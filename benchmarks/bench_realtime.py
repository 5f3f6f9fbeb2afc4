"""Real-time routing latency: one order placed among 300 locations (`RoutingState.reserve`, the library alone), p99 next
to the p99 of only listing the order's feasible locations, measured in the same pass. Repeated, and again with a CPU
hog on the other core: the figure is reported as the range over the runs and the hog run on its own."""

from __future__ import annotations

import os
import statistics
import time

import routing
from benchmarks.report import Hog, Result, emit, load, span
from benchmarks.routing_instances import benchmark_instance

SEED = 1
LOCATIONS = 300
ORDERS = 2000
TARGET_MS = 5.0


def _run(locations: int, orders: int) -> tuple[float, float]:
    """(p99 of a real-time placement, p99 of listing the feasible locations), in ms, over `orders` orders."""
    inst = benchmark_instance(orders, locations, SEED)
    state = routing.RoutingState(routing.Instance(inst.params, inst.locations, inst.stock, ()))
    rt, base = [], []
    for order in inst.orders:
        t = time.perf_counter()
        state.reserve(order)
        rt.append(time.perf_counter() - t)
        t = time.perf_counter()
        state.net.compile(order)  # baseline: only listing the feasible locations of the order
        base.append(time.perf_counter() - t)
    return statistics.quantiles(rt, n=100)[98] * 1000, statistics.quantiles(base, n=100)[98] * 1000


def main() -> None:
    """FULFIL_BENCH_REPEATS (default 3) quiet runs, then one with a CPU hog."""
    repeats = int(os.environ.get("FULFIL_BENCH_REPEATS", "3"))
    quiet = [_run(LOCATIONS, ORDERS) for _ in range(repeats)]
    context = load()
    with Hog():
        hog = _run(LOCATIONS, ORDERS)
    for label, runs in ((f"{repeats} runs, {context}", quiet), ("with a CPU hog on the other core", [hog])):
        worst, base = max(r[0] for r in runs), max(r[1] for r in runs)
        emit(Result(f"routing real-time: one order among {LOCATIONS} locations, p99, {label} (range {span([r[0] for r in runs], '{:.2f}')} ms; "
                    f"baseline {span([r[1] for r in runs], '{:.2f}')} ms)", worst, "ms", "p99 of listing its feasible locations", base,
                    f"<= {TARGET_MS:g} ms", worst <= TARGET_MS))


if __name__ == "__main__":
    main()

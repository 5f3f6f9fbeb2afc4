"""Large instances as geographic regions solved in parallel processes (the 100,000 x 2,000 path, docs/routing.md).

The single-master LP does not scale past a few tens of thousands of orders (its first solve at 100,000 x 2,000 did
not finish in 468 s), while 20,000 x 1,000 solves whole in about 30 s. So a large batch is cut into regions of
about REGION_ORDERS orders: the locations by recursive bisection of their coordinates, weighted by the orders whose
home (the cheapest location able to serve them, or a pickup's store) lies there; each order goes to its home's
region. Each region is solved on its own locations and stock by the whole pipeline (`solver.solve_optimal`), in
forked processes, `workers` at a time. Regions share no location, so the union of their plans is feasible; a global
local search and consolidation then move orders across the borders where a location over the border is cheaper.

Stock and parcel slots are allotted from greedy's plan (what it used for a region's orders, and what it left to the
region a location lies in), so warehouses and border stores keep serving across regions.

Deterministic: the regions, each region's time limit and hence its work budget derive from the instance and the
options alone. The regions' own bounds are of their restricted problems, not of the batch; the plan's bound is the
batch's Lagrangian priced over every pair at the regions' duals side by side (valid for any duals with the right
signs), then the pattern bound at those duals (routing/dwbound.py).
"""

from __future__ import annotations

import math
import multiprocessing
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from routing.colgen import Duals, LPResult, Master
from routing.guard import Guard
from routing.model import Instance, Location, Plan, SolverInfo, StockItem
from routing.network import Network, OrderAlloc, Resources
from routing.pairs import PairTable, build_pairs, model_rows
from routing.plan import allocations_cost, build_plan
from routing.route import best_route

if TYPE_CHECKING:
    from routing.solver import Options

IntArray = npt.NDArray[np.int64]

# Orders per region: 20,000 x 1,000 solves whole in about 30 s of one core on the development machine.
REGION_ORDERS = 25_000
# Share of the time limit the regions get (in waves of `workers`); the rest reads, builds, merges and explains.
REGIONS_SHARE = 0.6


@dataclass(frozen=True)
class RegionOutcome:
    """What a region's process sends back: its allocations by ids and how its solve went."""

    shipments: tuple[tuple[str, str, tuple[tuple[str, int], ...]], ...]
    cost: float
    lower_bound: float | None
    status: str
    guard_fired_in: str | None
    orders: int
    seconds: float
    duals: RegionDuals | None = None


@dataclass(frozen=True)
class RegionDuals:
    """A region's LP duals by ids (zeros left out): they price a bound for the whole batch (`global_bound`)."""

    lines: dict[tuple[str, str], float]   # (order id, sku) -> demand row dual
    stock: dict[tuple[str, str], float]   # (location id, sku) -> stock row dual (<= 0)
    cap: dict[str, float]                 # location id -> slot row dual (<= 0)
    flink: dict[str, float]               # order id -> served-order row dual (<= 0)


def region_duals(net: Network, duals: Duals) -> RegionDuals:
    """A region's duals (its network's row order, routing/pairs.model_rows) keyed by ids."""
    rows = model_rows(net)
    orders = [od.order.id for od in net.orders]
    locations = [loc.id for loc in net.locations]
    return RegionDuals(
        {(orders[o], sku): v for o, sku, v in zip(rows.line_order.tolist(), rows.line_sku, duals.line.tolist())},
        {(locations[loc], sku): v for loc, sku, v in zip(rows.stock_loc.tolist(), rows.stock_sku, duals.stock.tolist()) if v},
        {locations[i]: v for i, v in enumerate(duals.cap.tolist()) if v},
        {orders[o]: v for o, v in enumerate(duals.flink.tolist()) if v})


def global_bound(net: Network, table: PairTable, parts: list[RegionDuals]) -> LPResult:
    """The LP's Lagrangian bound of the whole batch (routing/colgen.py) at the regions' duals side by side: valid for
    any duals with the right signs. An order's demand and served-order duals come from its region; a stock entry's
    or a location's slot dual is the mean over the regions that had a share of it (a mean of values <= 0 is <= 0);
    a row no region priced gets 0."""
    master = Master(net, table)
    rows = table.rows
    orders = [od.order.id for od in net.orders]
    locations = [loc.id for loc in net.locations]
    lines: dict[tuple[str, str], float] = {}
    flink: dict[str, float] = {}
    stock_sum: dict[tuple[str, str], list[float]] = {}
    cap_sum: dict[str, list[float]] = {}
    for part in parts:
        lines.update(part.lines)
        flink.update(part.flink)
        for entry, v in part.stock.items():
            stock_sum.setdefault(entry, []).append(v)
        for loc_id, v in part.cap.items():
            cap_sum.setdefault(loc_id, []).append(v)
    line = np.asarray([lines.get((orders[o], sku), 0.0) for o, sku in zip(rows.line_order.tolist(), rows.line_sku)],
                      dtype=np.float64)
    stock = np.asarray([min(0.0, float(np.mean(stock_sum[k]))) if (k := (locations[loc], sku)) in stock_sum else 0.0
                        for loc, sku in zip(rows.stock_loc.tolist(), rows.stock_sku)], dtype=np.float64)
    cap = np.asarray([min(0.0, float(np.mean(cap_sum[loc.id]))) if loc.id in cap_sum and loc.capacity is not None else 0.0
                      for loc in net.locations], dtype=np.float64)
    served = np.asarray([flink.get(orders[o], 0.0) if od.order.existing_shipments == 0 else 0.0
                         for o, od in enumerate(net.orders)], dtype=np.float64)
    d = Duals(line, stock, cap, np.minimum(0.0, served))
    rc = master.reduced_costs(d)
    bound, per_order = master.lagrangian(d, rc)
    return LPResult(bound=bound, duals=d, order_bound=per_order, status="regions' duals")


def region_count(orders: int, requested: int | None, workers: int) -> int:
    """Regions for a batch: `requested` when given (1 = whole), else one per REGION_ORDERS orders when there are
    several workers and at least two regions' worth of orders, else 1."""
    if requested is not None:
        return max(1, min(requested, orders))
    if workers < 2 or orders < 2 * REGION_ORDERS:
        return 1
    return math.ceil(orders / REGION_ORDERS)


def home_locations(net: Network) -> IntArray:
    """Each order's home: its pickup store, else its cheapest feasible location; -1 without any."""
    homes = np.full(len(net.orders), -1, dtype=np.int64)
    for o, od in enumerate(net.orders):
        if od.order.pickup_at is not None:
            homes[o] = net.index[od.order.pickup_at]
        elif od.arcs:
            homes[o] = od.arcs[0].loc
    return homes


def partition(net: Network, homes: IntArray, k: int) -> IntArray:
    """Region of each location: recursive bisection along the wider of the two axes (longitude scaled by the
    cosine of the mean latitude), cut where the orders at home on each side match the regions on that side."""
    n = len(net.locations)
    weight = np.bincount(homes[homes >= 0], minlength=n).astype(np.float64) + 1e-6
    region = np.zeros(n, dtype=np.int64)
    x = net.lon * math.cos(math.radians(float(net.lat.mean()) if n else 0.0))
    y = net.lat

    def split(idx: IntArray, parts: int, first: int) -> None:
        if parts == 1 or idx.shape[0] <= 1:
            region[idx] = first
            return
        axis = x if np.ptp(x[idx]) >= np.ptp(y[idx]) else y
        ordered = idx[np.lexsort((idx, axis[idx]))]
        left = parts // 2
        cum = np.cumsum(weight[ordered])
        cut = int(np.searchsorted(cum, cum[-1] * left / parts)) + 1
        cut = min(max(cut, 1), ordered.shape[0] - 1)
        split(ordered[:cut], left, first)
        split(ordered[cut:], parts - left, first + left)

    split(np.arange(n, dtype=np.int64), k, 0)
    return region


def allot(net: Network, greedy: list[OrderAlloc], order_region: IntArray, region_of_loc: IntArray, k: int
          ) -> tuple[list[dict[tuple[int, str], int]], list[dict[int, int]]]:
    """Each region's share of every location's usable stock and parcel slots: what greedy's plan uses for the
    region's orders, and what greedy leaves to the region the location lies in. So each region can at least do what
    greedy did for its orders (its plan costs no more), and the shares add up to what there is."""
    stock: list[dict[tuple[int, str], int]] = [dict() for _ in range(k)]
    slots: list[dict[int, int]] = [dict() for _ in range(k)]
    left = Resources(net)
    for o, alloc in enumerate(greedy):
        r = int(order_region[o])
        for loc, lines in alloc.items():
            slots[r][loc] = slots[r].get(loc, 0) + 1
            for sku, qty in lines.items():
                stock[r][(loc, sku)] = stock[r].get((loc, sku), 0) + qty
        left.take(alloc)
    for (loc, sku), qty in left.avail.items():
        if qty > 0:
            mine = stock[int(region_of_loc[loc])]
            mine[(loc, sku)] = mine.get((loc, sku), 0) + qty
    for loc, cap in enumerate(left.cap_left):
        if cap != float("inf") and cap > 0:
            mine_slots = slots[int(region_of_loc[loc])]
            mine_slots[loc] = mine_slots.get(loc, 0) + int(cap)
    return stock, slots


def sub_instance(net: Network, orders: list[int], stock: dict[tuple[int, str], int], slots: dict[int, int]) -> Instance:
    """Some orders with a region's share of the stock and slots (its locations: those it has stock at); nothing new
    to check (every number comes from the checked instance)."""
    instance = net.instance
    held = sorted({loc for (loc, _sku), qty in stock.items() if qty > 0})
    locations = []
    for i in held:
        loc = instance.locations[i]
        if loc.capacity is not None:
            loc = Location(loc.id, loc.kind, loc.lat, loc.lon, slots.get(i, 0), loc.pick_cost_per_unit, loc.handling_days)
        locations.append(loc)
    ids = {loc.id for loc in locations}
    # A pickup's store stays in its region even without stock there (its destination is that store).
    for o in orders:
        store = instance.orders[o].pickup_at
        if store is not None and store not in ids:
            loc = instance.locations[net.index[store]]
            locations.append(Location(loc.id, loc.kind, loc.lat, loc.lon, 0 if loc.capacity is not None else None,
                                      loc.pick_cost_per_unit, loc.handling_days))
            ids.add(store)
    parts = (("params", instance.params), ("locations", tuple(locations)),
             ("stock", tuple(StockItem(net.locations[loc].id, sku, qty) for (loc, sku), qty in sorted(stock.items()) if qty > 0)),
             ("orders", tuple(instance.orders[o] for o in orders)))
    other = object.__new__(Instance)
    for name, value in parts:
        object.__setattr__(other, name, value)
    return other


# The regions of the batch being solved, set before the processes are forked (they inherit it: nothing is pickled
# on the way there) and cleared after.
_REGIONS: list[tuple[Instance, Options]] = []


def _solve_region(i: int) -> RegionOutcome:
    from routing.solver import solve_whole

    instance, options = _REGIONS[i]
    start = time.perf_counter()
    plan, lp, net = solve_whole(instance, options)
    details = plan.solver.details if plan.solver is not None else {}
    return RegionOutcome(
        tuple((s.order, s.location, tuple((line.sku, line.qty) for line in s.lines)) for s in plan.shipments),
        plan.cost.total, plan.lower_bound, plan.solver.status if plan.solver is not None else "unknown",
        details.get("guard_fired_in"), len(instance.orders), time.perf_counter() - start,
        region_duals(net, lp.duals) if lp is not None and lp.duals is not None else None)


def solve_by_regions(instance: Instance, opts: Options, k: int, network: Network | None = None) -> Plan:
    """The batch as `k` regions solved in parallel processes, merged, then improved across borders."""
    from routing.solver import BOUND_SHARE_OF_EXPLAINING, _stronger_bound, begin, explain_within, polish

    start, final, plan_deadline, guard, clock, net, greedy, greedy_cost = begin(instance, opts, network)
    clock.mark("greedy")
    homes = home_locations(net)
    region_of_loc = partition(net, homes, k)
    order_region = np.where(homes >= 0, region_of_loc[np.maximum(homes, 0)], 0)
    workers = max(1, min(opts.workers, k))
    waves = math.ceil(k / workers)
    region_opts = replace(opts, time_limit=REGIONS_SHARE * opts.time_limit / waves, workers=1, explain=False,
                          started=None, regions=1)
    stock, slots = allot(net, greedy, order_region, region_of_loc, k)
    _REGIONS.clear()
    for r in range(k):
        orders = np.flatnonzero(order_region == r).tolist()
        _REGIONS.append((sub_instance(net, orders, stock[r], slots[r]), region_opts))
    clock.mark("regions")
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            outcomes = pool.map(_solve_region, range(k), chunksize=1)
    finally:
        _REGIONS.clear()
    clock.mark("regions solved")
    allocs: list[OrderAlloc] = [{} for _ in net.orders]
    for out in outcomes:
        for order_id, loc_id, lines in out.shipments:
            allocs[net.order_index[order_id]].setdefault(net.index[loc_id], {}).update(lines)
    res = Resources(net)
    for o, alloc in enumerate(allocs):
        if not res.fits(alloc):  # cannot happen (the regions' shares add up to what there is); kept feasible if so
            alloc = allocs[o] = best_route(net, net.orders[o], res)[1]
        res.take(alloc)
    clock.mark("merge")
    details: dict[str, object] = {"greedy_cost": round(greedy_cost, 6), "seed": opts.seed, "workers": opts.workers}
    details["regions"] = [{"orders": out.orders, "locations": int((region_of_loc == r).sum()), "cost": round(out.cost, 6),
                           "bound": None if out.lower_bound is None else round(out.lower_bound, 6), "status": out.status,
                           "guard_fired_in": out.guard_fired_in, "seconds": round(out.seconds, 3)}
                          for r, out in enumerate(outcomes)]
    fired = [f"region {r}: {out.guard_fired_in}" for r, out in enumerate(outcomes) if out.guard_fired_in]
    if fired:
        guard.fire(fired[0])
    details["merged_cost"] = round(allocations_cost(net, allocs), 6)
    polish(net, allocs, res, opts, guard, clock, details, after="merge")
    cost = allocations_cost(net, allocs)
    best, source = (allocs, "regions") if cost < greedy_cost - 1e-9 else (greedy, "greedy")
    bound, bound_kind = None, None
    parts = [out.duals for out in outcomes]
    if all(p is not None for p in parts) and not guard.expired("consolidation"):
        table = build_pairs(net)
        lp = global_bound(net, table, parts)  # type: ignore[arg-type]
        bound, bound_kind = lp.bound, "lp"
        details["lp"] = {"status": lp.status, "pairs": table.size, "objective": None,
                         "bound": None if lp.bound is None else round(lp.bound, 6)}
        clock.mark("bound")
        own = Guard(guard.deadline + BOUND_SHARE_OF_EXPLAINING * (final - plan_deadline))
        pattern = _stronger_bound(net, table, lp, best, opts, guard, own, details)
        clock.mark("pattern bound")
        if pattern is not None and (bound is None or pattern >= bound):
            bound, bound_kind = pattern, "pattern"
    elif not all(p is not None for p in parts):
        details["bound_note"] = "a region's LP gave no duals: no bound for the whole batch"
    best_cost = allocations_cost(net, best)
    if bound is not None and (bound <= 0.0 < best_cost or bound > best_cost + 1e-6 * max(1.0, abs(best_cost))):
        details["bound_note"] = f"bound {bound:.2f} from the regions' duals not shown (not informative or numerical trouble)"
        bound, bound_kind = None, None
    explanations = explain_within(net, best, final, opts, guard, clock, details)
    warnings: list[str] = []
    if fired:
        warnings.append(f"time limit guard fired in {', '.join(fired)}: those regions' plans are what was reached")
    elif guard.fired:
        warnings.append(f"time limit guard fired in {guard.fired_in}: the plan is what was reached by then "
                        "(it may differ between runs)")
    if source == "greedy":
        warnings.append("greedy plan returned: the optimiser found nothing cheaper")
    details.update(plan_from=source, lower_bound_source="lagrangian" if bound is not None else "none",
                   bound_kind=bound_kind, guard_fired_in=guard.fired_in, warnings=warnings, stage_seconds=clock.seconds)
    info = SolverInfo("optimal", time.perf_counter() - start, "time limit" if guard.fired else "feasible", details)
    return replace(build_plan(net, best, info, bound), explanations=explanations)

"""The batch optimiser, anytime and deterministic: greedy plan first, LP by column generation (the guide and a first
bound), rounding and CP-SAT repair, local search, consolidation, large-neighbourhood search; greedy as the floor;
last the pattern bound from the LP's duals (per-order integer allocations: stronger than the LP's).

Every step is bounded by deterministic work (simplex iterations, CP-SAT deterministic time, passes), derived from
`time_limit` alone, so the same instance, seed and options give the same plan at any load. The wall clock is only
an outer guard: when it fires the plan is what was reached, and the plan says so (status, `guard_fired_in`,
`warnings`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from routing.colgen import LPResult, solve_lp
from routing.dwbound import pattern_bound
from routing.explain import explain
from routing.greedy import greedy_allocations
from routing.guard import Guard
from routing.lns import improve
from routing.model import Instance, Plan, SolverInfo
from routing.network import Arc, Network, OrderAlloc, Resources
from routing.pairs import PairTable, build_pairs
from routing.plan import allocations_cost, build_plan
from routing.regions import region_count, solve_by_regions
from routing.route import alloc_cost, best_route
from routing.splits import consolidate
from routing.submip import solve_group

# Deterministic work per second of time limit, calibrated on the development machine (2 cores, x86_64) so that
# the work normally ends well before the guard, even on a loaded machine: HiGHS simplex iterations for the LP,
# branch-and-bound nodes for the repair, neighbourhoods for the search.
LP_ITERATIONS_PER_SECOND = 4_000
LP_MAX_ROUNDS = 40
REPAIR_NODES_PER_SECOND = 100
LNS_WORK_PER_SECOND = 2_500
LOCAL_SEARCH_PASSES = 2
# The pattern bound's pricing work (pairs priced, plus the per-order searches' dp transitions and nodes: ~1.7 M a
# CPU second) and its Dantzig-Wolfe master's simplex iterations, per second of limit. One pass at the LP's duals
# costs 3-4 units per pair (measured): 10 s at 2,000 x 200 and 30 s at 5,000 x 300 afford one, not the rounds;
# 60 s at 20,000 x 1,000 (1.6 M pairs) does not, and keeps the LP's bound (the time goes to the plan there).
BOUND_WORK_PER_SECOND = 50_000
BOUND_ITERATIONS_PER_SECOND = 1_000
BOUND_PASS_PER_PAIR = 3
# Where that budget is below one pass but the limit is long enough for one (its share of the limit covers the pass
# at BOUND_SECONDS_PER_PAIR), one pass at the LP's duals is afforded (work up to 4 units per pair), no rounds:
# 20,000 x 1,000 (1.6 M pairs) at 60 s runs it, at 30 s does not. Derived from the limit and the size: deterministic.
BOUND_SHARE_OF_LIMIT = 0.1
BOUND_ONE_PASS_PER_PAIR = 4
# Share of the explanations' time the pattern bound may use (after the plan's guard deadline), and the time it must
# have left to start (one pass is ~1.8 us of CPU per pair). With half the share and 5 us per pair, runs whose guard
# fired in the neighbourhood search (under a CPU hog) never had the time left to start it.
BOUND_SHARE_OF_EXPLAINING = 0.75
BOUND_SECONDS_PER_PAIR = 2.5e-6
# The guard fires this share of the time limit before it ends, and this long per order more (at most half the
# limit): room to build, explain and write the plan after it fires (measured ~0.2 s per 1,000 orders on a busy machine).
MARGIN = 0.05
PLAN_SECONDS_PER_ORDER = 0.0003
# Time kept for the explanations when they are asked for (~0.5 ms per order on a busy machine), at most 20% of it.
EXPLAIN_SECONDS_PER_ORDER = 0.0005
INTEGRAL = 1e-6


@dataclass(frozen=True)
class Options:
    """Knobs of the optimiser. `time_limit` sets both the deterministic work budget and the wall-clock guard;
    `started` (perf_counter) lets a caller count its own reading and writing in the limit."""

    time_limit: float = 10.0
    seed: int = 0
    workers: int = 2
    local_search: bool = True
    consolidate: bool = True
    lns: bool = True
    explain: bool = False
    started: float | None = None
    # Deterministic work per second of time limit, as a multiple of the calibrated default (a faster machine
    # can afford more; the guard still holds the limit).
    effort: float = 1.0
    # Geographic regions solved in parallel processes (routing/regions.py, which forks: a threaded caller keeps the
    # default): 1 = the batch whole, N = N regions, None = one per 25,000 orders when there are several workers and
    # at least two regions' worth (what `fulfil routing solve` asks for).
    regions: int | None = 1

    @property
    def work_seconds(self) -> float:
        """The time limit in calibrated seconds of deterministic work."""
        return self.time_limit * self.effort


class _Stages:
    """Wall-clock seconds per pipeline step, reported in the plan (never used to decide anything)."""

    def __init__(self, start: float) -> None:
        self.last = start
        self.seconds: dict[str, float] = {}

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self.last, 3)
        self.last = now


def _pair_index(t: PairTable, o: int, loc: int) -> int:
    a, b = int(t.order_start[o]), int(t.order_start[o + 1])
    i = a + int(np.searchsorted(t.loc[a:b], loc))
    return i if i < b and int(t.loc[i]) == loc else -1


def round_lp(net: Network, t: PairTable, lp: LPResult) -> tuple[dict[int, OrderAlloc], list[int]]:
    """Orders the LP serves integrally (kept as they are) and the fractional rest."""
    by_order: dict[int, list[tuple[int, float]]] = {}
    for p, y in zip(lp.pairs.tolist(), lp.y.tolist()):
        if y > INTEGRAL:
            by_order.setdefault(int(t.order[p]), []).append((p, y))
    fixed: dict[int, OrderAlloc] = {}
    fractional: list[int] = []
    line_sku = t.rows.line_sku
    for o in range(len(net.orders)):
        used = by_order.get(o, [])
        if any(y < 1 - INTEGRAL for _, y in used):
            fractional.append(o)
            continue
        alloc: OrderAlloc = {}
        ok = True
        for p, _ in used:
            loc = int(t.loc[p])
            for e in range(int(t.pair_entries[p]), int(t.pair_entries[p + 1])):
                n = lp.entry_x.get(e, 0.0)
                if abs(n - round(n)) > INTEGRAL:
                    ok = False
                if round(n) > 0:
                    alloc.setdefault(loc, {})[line_sku[int(t.entry_line[e])]] = round(n)
        if ok:
            fixed[o] = alloc
        else:
            fractional.append(o)
    return fixed, fractional


def local_search(net: Network, allocs: list[OrderAlloc], res: Resources, deadline: float, passes: int) -> int:
    """Re-route each order alone against what the others leave while it pays; the number of moves."""
    moves = 0
    for _ in range(passes):
        improved = 0
        for o, od in enumerate(net.orders):
            if time.perf_counter() > deadline:
                return moves
            current = allocs[o]
            res.give(current)
            before = alloc_cost(net, od, current)
            cost, alloc = best_route(net, od, res)
            if cost < before - 1e-9:
                allocs[o] = alloc
                res.take(alloc)
                improved += 1
            else:
                res.take(current)
        moves += improved
        if not improved:
            break
    return moves


def _repair(net: Network, t: PairTable, lp: LPResult, greedy: list[OrderAlloc], opts: Options, guard: Guard,
            details: dict[str, object]) -> tuple[list[OrderAlloc], Resources]:
    """The LP's integral orders as they are; its fractional ones solved jointly by CP-SAT, then one by one."""
    fixed, fractional = round_lp(net, t, lp)
    res = Resources(net)
    allocs: list[OrderAlloc] = [{} for _ in net.orders]
    for o, alloc in sorted(fixed.items()):
        if res.fits(alloc):
            res.take(alloc)
            allocs[o] = alloc
        else:
            fractional.append(o)
    details["fractional_orders"] = len(fractional)
    in_lp: dict[int, set[int]] = {}
    for p, y in zip(lp.pairs.tolist(), lp.y.tolist()):
        if y > INTEGRAL:
            in_lp.setdefault(int(t.order[p]), set()).add(int(t.loc[p]))
    arcs: dict[int, list[Arc]] = {}
    for o in sorted(fractional):
        wanted = in_lp.get(o, set()) | set(greedy[o])
        arcs[o] = [a for a in net.orders[o].arcs if a.loc in wanted]
    if arcs:
        nodes = max(1, int(REPAIR_NODES_PER_SECOND * opts.work_seconds))
        mip = solve_group(net, arcs, res, nodes, guard)
        details["repair"] = {"status": mip.status, "nodes": mip.nodes}
        if mip.clock_stopped:
            guard.fire("repair")
        for o in sorted(arcs):
            alloc = mip.allocs.get(o, {}) if mip.allocs is not None else {}
            if not alloc or not res.fits(alloc):
                alloc = best_route(net, net.orders[o], res)[1]
            res.take(alloc)
            allocs[o] = alloc
    return allocs, res


def _stronger_bound(net: Network, table: PairTable, lp: LPResult, allocs: list[OrderAlloc], opts: Options,
                    guard: Guard, own: Guard, details: dict[str, object]) -> float | None:
    """The pattern bound (routing/dwbound.py) within its deterministic budget (never below the LP's) and its own time
    (`own`: the plan's `guard` deadline plus part of the explanations' share); None when the budget does not cover
    one pricing pass or its time is gone: the LP's bound stays, and the plan says why."""
    work = int(BOUND_WORK_PER_SECOND * opts.work_seconds)
    one_pass_fits = BOUND_SHARE_OF_LIMIT * opts.work_seconds >= BOUND_SECONDS_PER_PAIR * table.size
    if work < BOUND_PASS_PER_PAIR * table.size and one_pass_fits:
        work = BOUND_ONE_PASS_PER_PAIR * table.size
    if work < BOUND_PASS_PER_PAIR * table.size:
        details["pattern_bound"] = {"status": f"not run: budget {work} below one pricing pass (~{BOUND_PASS_PER_PAIR} "
                                              f"x {table.size} pairs)"}
        return None
    if own.left() < BOUND_SECONDS_PER_PAIR * table.size:
        # Its vectorised part cannot be interrupted: not started this close to its deadline (said as the guard firing).
        own.fire("pattern bound")
        guard.fire("pattern bound")
        details["pattern_bound"] = {"status": "not run: too little time left (guard)"}
        return None
    pb = pattern_bound(net, table, lp, allocs, work, int(BOUND_ITERATIONS_PER_SECOND * opts.work_seconds), own)
    if own.fired:
        guard.fire("pattern bound")
    details["pattern_bound"] = {"status": pb.status, "value": None if pb.bound is None else round(pb.bound, 6),
                                "at_lp_duals": None if pb.at_lp_duals is None else round(pb.at_lp_duals, 6),
                                "rounds": pb.rounds, "work": pb.work, "budget": work, "searched_orders": pb.searched,
                                "exact_orders": pb.exact_orders, "cut_by_guard": pb.cut}
    return pb.bound


def polish(net: Network, allocs: list[OrderAlloc], res: Resources, opts: Options, guard: Guard, clock: _Stages,
           details: dict[str, object], after: str) -> None:
    """Local search, then consolidation, each unless the guard has fired (asked after the step named `after`)."""
    if opts.local_search and not guard.expired(after):
        details["local_search_moves"] = local_search(net, allocs, res, guard.deadline, LOCAL_SEARCH_PASSES)
        clock.mark("local search")
        guard.expired("local search")
    if opts.consolidate and not guard.expired("local search"):
        details["consolidated_orders"] = consolidate(net, allocs, res, guard.deadline)
        clock.mark("consolidation")
        guard.expired("consolidation")


def explain_within(net: Network, best: list[OrderAlloc], final: float, opts: Options, guard: Guard, clock: _Stages,
                   details: dict[str, object]) -> dict[str, dict[str, Any]] | None:
    """The explanations when asked for. They are part of the command's time: past `final` the rest are left out,
    and that is said (the guard then counts as fired in them)."""
    if not opts.explain:
        return None
    explanations = explain(net, best, final)
    clock.mark("explanations")
    skipped = sum(1 for e in explanations.values() if "skipped" in e)
    if skipped:
        guard.fired_in = guard.fired_in or "explanations"
        details["explanations_skipped"] = skipped
    return explanations


def plan_deadlines(instance: Instance, opts: Options, start: float) -> tuple[float, float]:
    """The final deadline (explanations end there; building and writing the plan follow) and the plan's guard's,
    before it by the explanations' share."""
    begun = opts.started if opts.started is not None else start
    reserve = min(0.5 * opts.time_limit, MARGIN * opts.time_limit + PLAN_SECONDS_PER_ORDER * len(instance.orders))
    # Explanations get their own share at the end (they are cut short at the final deadline, said in the plan).
    explaining = min(0.2 * opts.time_limit, EXPLAIN_SECONDS_PER_ORDER * len(instance.orders)) if opts.explain else 0.0
    final = begun + opts.time_limit - reserve
    return final, final - explaining


def begin(instance: Instance, opts: Options, network: Network | None
          ) -> tuple[float, float, float, Guard, _Stages, Network, list[OrderAlloc], float]:
    """What every solve starts with: its start, final and plan deadlines, the guard, the stage clock, the compiled
    network and greedy's plan with its cost (greedy is the floor and the fallback)."""
    start = time.perf_counter()
    final, plan_deadline = plan_deadlines(instance, opts, start)
    clock = _Stages(start)
    net = network or Network(instance)
    clock.mark("network")
    greedy = greedy_allocations(net)
    return start, final, plan_deadline, Guard(plan_deadline), clock, net, greedy, allocations_cost(net, greedy)


def solve_optimal(instance: Instance, options: Options | None = None, network: Network | None = None) -> Plan:
    """Best of (optimised, greedy) plan, with the pattern bound, or the LP's Lagrangian bound, when there is one.
    A large batch is solved as regions in parallel processes (routing/regions.py)."""
    opts = options or Options()
    k = region_count(len(instance.orders), opts.regions, opts.workers)
    if k > 1:
        return solve_by_regions(instance, opts, k, network)
    return solve_whole(instance, opts, network)[0]


def solve_whole(instance: Instance, opts: Options, network: Network | None = None) -> tuple[Plan, LPResult | None, Network]:
    """The pipeline on the batch whole: the plan, the LP where it ran (its duals price a bound elsewhere: regions)."""
    start, final, plan_deadline, guard, clock, net, greedy, greedy_cost = begin(instance, opts, network)
    explaining = final - plan_deadline
    details: dict[str, object] = {"greedy_cost": round(greedy_cost, 6), "seed": opts.seed, "workers": opts.workers}
    warnings: list[str] = []
    best, best_cost, bound = greedy, greedy_cost, None
    bound_kind: str | None = None
    source = "greedy"
    lp_status = "not run"
    lp: LPResult | None = None
    if not guard.expired("network and greedy"):
        clock.mark("greedy")
        table = build_pairs(net)
        clock.mark("pairs")
        extra = np.asarray([i for o, alloc in enumerate(greedy) for loc in alloc if (i := _pair_index(table, o, loc)) >= 0],
                           dtype=np.int64)
        lp = solve_lp(net, table, extra, int(LP_ITERATIONS_PER_SECOND * opts.work_seconds), LP_MAX_ROUNDS, guard)
        details["lp"] = {"status": lp.status, "rounds": lp.rounds, "iterations": lp.iterations, "pairs": table.size,
                         "pairs_in_master": lp.pairs_in_master, "objective": None if lp.objective is None else round(lp.objective, 6),
                         "seconds": round(lp.seconds, 3)}
        clock.mark("lp")
        bound, lp_status = lp.bound, lp.status
        if lp.status != "optimal":
            warnings.append(f"LP relaxation not solved to optimality ({lp.status}): the bound is weaker"
                            if lp.bound is not None else f"no LP bound ({lp.status})")
        if lp.pairs.shape[0] and not guard.expired("lp"):
            allocs, res = _repair(net, table, lp, greedy, opts, guard, details)
            clock.mark("repair")
            polish(net, allocs, res, opts, guard, clock, details, after="repair")
            if opts.lns and not guard.expired("consolidation"):
                stats = improve(net, table, lp, allocs, res, LNS_WORK_PER_SECOND * opts.work_seconds, guard)
                clock.mark("lns")
                details["lns"] = {"steps": stats.steps, "improved": stats.improved, "nodes": stats.nodes,
                                  "work": round(stats.work), "saved": round(stats.saved, 6)}
            cost = allocations_cost(net, allocs)
            if cost < best_cost - 1e-9:
                best, best_cost, source = allocs, cost, "optimiser"
        if lp.duals is not None:
            # Last, from the LP's duals (the plan seeds its rounds): it does not change the plan. It may use part of
            # the explanations' share, so the plan's steps keep all their time and a guard fired in them need not
            # cost the bound.
            own = Guard(guard.deadline + BOUND_SHARE_OF_EXPLAINING * explaining)
            pattern = _stronger_bound(net, table, lp, best, opts, guard, own, details)
            clock.mark("pattern bound")
            if pattern is not None and (bound is None or pattern >= bound):
                bound, bound_kind = pattern, "pattern"
    explanations = explain_within(net, best, final, opts, guard, clock, details)
    if guard.fired:
        warnings.append(f"time limit guard fired in {guard.fired_in}: the plan is what was reached by then "
                        "(it may differ between runs)")
    if source == "greedy" and (bound is None or best_cost > bound + 1e-6):
        warnings.append("greedy plan returned: the optimiser found nothing cheaper")
    if bound is not None and bound <= 0.0 < best_cost:
        # Valid but says nothing (every plan costs >= 0): an LP stopped after its first rounds. Not shown as a bound.
        warnings.append(f"LP bound {bound:.2f} not yet informative (LP {lp_status}): no bound given")
        bound = None
    if bound is not None and bound > best_cost + 1e-6 * max(1.0, abs(best_cost)):
        # Cannot happen with exact arithmetic; with the LP's tolerances it is withheld rather than reported wrong.
        warnings.append(f"LP bound {bound:.6f} above the plan's cost {best_cost:.6f} (numerical trouble): no bound given")
        bound = None
    if guard.fired:
        status = "time limit"
    elif bound is not None and best_cost <= bound + 1e-6 * max(1.0, abs(best_cost)):
        status = "optimal"
    else:
        status = "feasible"
    if bound is not None and bound_kind is None:
        bound_kind = "lp"
    details.update(plan_from=source, lower_bound_source="lagrangian" if bound is not None else "none",
                   bound_kind=bound_kind if bound is not None else None, guard_fired_in=guard.fired_in,
                   warnings=warnings)
    details["stage_seconds"] = clock.seconds  # wall clock, for reading only: nothing depends on it
    info = SolverInfo("optimal", time.perf_counter() - start, status, details)
    return replace(build_plan(net, best, info, bound), explanations=explanations), lp, net

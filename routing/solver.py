"""The batch optimiser: LP bound and guide, integer repair of fractional orders, local search, greedy floor."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from routing.deadline import run_until
from routing.explain import explain
from routing.greedy import greedy_allocations
from routing.lp import LPResult, candidate_arcs, solve_lp
from routing.mip import solve_mip
from routing.model import Instance, Plan, SolverInfo
from routing.network import Arc, Network, OrderAlloc, Resources
from routing.plan import allocations_cost, build_plan
from routing.route import alloc_cost, best_route
from routing.splits import consolidate

# Candidate pruning: the cheapest single-location options per order, the cheapest holders per sku.
ARCS_PER_ORDER = 8
ARCS_PER_SKU = 2
# Shares of the time limit: the LP may use up to this fraction; a margin is kept for plan building.
LP_SHARE = 0.6
MARGIN = 0.05
LOCAL_SEARCH_PASSES = 3
# The integer repair of the LP's fractional orders gets this share of the time limit at most.
MIP_SHARE = 0.15
INTEGRAL = 1e-6


@dataclass(frozen=True)
class Options:
    """Knobs of the optimiser (benchmarks turn stages off to measure them)."""

    time_limit: float = 10.0
    seed: int = 0
    workers: int = 2
    arcs_per_order: int = ARCS_PER_ORDER
    arcs_per_sku: int = ARCS_PER_SKU
    local_search: bool = True
    consolidate: bool = True
    explain: bool = False


def trivial_bound(net: Network) -> float:
    """A bound needing no LP: each order alone, every unit at its cheapest pick, one cheapest parcel."""
    p = net.params
    total = 0.0
    for od in net.orders:
        if not od.arcs:
            total += p.unfilled_penalty * od.units
            continue
        units = 0.0
        for s, q in od.demand.items():
            picks = [net.pick[a.loc] for a in od.arcs if net.avail.get((a.loc, s), 0) > 0]
            units += q * min([p.unfilled_penalty, *picks])
        total += min(p.unfilled_penalty * od.units, min(a.parcel for a in od.arcs) + units)
    return total


def round_lp(net: Network, lp: LPResult) -> tuple[dict[int, OrderAlloc], list[int]]:
    """Orders the LP already serves integrally (kept as they are) and the fractional rest."""
    ys: dict[int, dict[int, float]] = {}
    for (o, loc), v in lp.y.items():
        ys.setdefault(o, {})[loc] = v
    fixed: dict[int, OrderAlloc] = {}
    fractional: list[int] = []
    for o, od in enumerate(net.orders):
        values = ys.get(o, {})
        if any(INTEGRAL < v < 1 - INTEGRAL for v in values.values()):
            fractional.append(o)
            continue
        alloc: OrderAlloc = {}
        ok = True
        for loc, v in values.items():
            if v < 0.5:
                continue
            for s in od.demand:
                n = lp.x.get((o, loc, s), 0.0)
                if abs(n - round(n)) > INTEGRAL:
                    ok = False
                if round(n) > 0:
                    alloc.setdefault(loc, {})[s] = round(n)
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


def solve_optimal(instance: Instance, options: Options | None = None, network: Network | None = None) -> Plan:
    """Best of (optimised, greedy) plan within options.time_limit seconds, with a proven lower bound."""
    opts = options or Options()
    start = time.perf_counter()
    deadline = start + opts.time_limit * (1 - MARGIN)
    net = network or Network(instance)
    greedy = greedy_allocations(net)
    greedy_cost = allocations_cost(net, greedy)
    details: dict[str, object] = {"greedy_cost": round(greedy_cost, 6), "seed": opts.seed, "workers": opts.workers}
    bound = trivial_bound(net)
    candidates = candidate_arcs(net, opts.arcs_per_order, opts.arcs_per_sku)
    for o, alloc in enumerate(greedy):  # greedy's arcs stay available: the model can always do as well
        have = {a.loc for a in candidates[o]}
        extra = [a for a in net.orders[o].arcs if a.loc in alloc and a.loc not in have]
        candidates[o].extend(extra)
    lp_deadline = start + opts.time_limit * LP_SHARE
    outcome = run_until(lambda: solve_lp(net, candidates, lp_deadline), min(deadline, lp_deadline + 0.5))
    lp = outcome.value if outcome.finished else None
    status = "lp abandoned"
    best, best_cost = greedy, greedy_cost
    if lp is not None and lp.objective is not None:
        details.update(lp_rounds=lp.rounds, lp_arcs=lp.arcs, lp_seconds=round(lp.seconds, 3), lp_status=lp.status)
        if lp.bound is not None:
            bound = max(bound, lp.bound)
        fixed, fractional = round_lp(net, lp)
        res = Resources(net)
        allocs: list[OrderAlloc] = [{} for _ in net.orders]
        for o, alloc in sorted(fixed.items()):
            if res.fits(alloc):
                res.take(alloc)
                allocs[o] = alloc
            else:
                fractional.append(o)
        details["fractional_orders"] = len(fractional)
        arcs: dict[int, list[Arc]] = {}
        for o in sorted(fractional):
            model_locs = {loc for (oo, loc) in lp.y if oo == o} if len(fractional) < 2000 else set()
            arcs[o] = [a for a in net.orders[o].arcs if a.loc in model_locs] or list(candidates[o])
        hint = {o: greedy[o] for o in arcs}
        mip_deadline = min(deadline - 0.1 * opts.time_limit, time.perf_counter() + MIP_SHARE * opts.time_limit)
        mip = solve_mip(net, arcs, res, mip_deadline, opts.seed, opts.workers, hint) if arcs else None
        if mip is not None:
            details["mip_status"] = mip.status
            details["mip_seconds"] = round(mip.seconds, 3)
        for o in sorted(arcs):
            alloc = mip.allocs.get(o, {}) if mip is not None and mip.allocs is not None else {}
            if not alloc or not res.fits(alloc):
                alloc = best_route(net, net.orders[o], res)[1]
            res.take(alloc)
            allocs[o] = alloc
        if opts.local_search:
            details["local_search_moves"] = local_search(net, allocs, res, deadline, LOCAL_SEARCH_PASSES)
        if opts.consolidate:
            details["consolidated_orders"] = consolidate(net, allocs, res, deadline)
        cost = allocations_cost(net, allocs)
        status = "optimal" if lp.bound is not None and cost <= bound + 1e-6 else "feasible"
        if cost < best_cost - 1e-9:
            best, best_cost = allocs, cost
        else:
            status = "greedy kept"
    details["lower_bound_source"] = "lp" if lp is not None and lp.bound is not None and lp.bound >= bound else "trivial"
    info = SolverInfo("optimal", time.perf_counter() - start, status, details)
    plan = build_plan(net, best, info, bound)
    return replace(plan, explanations=explain(net, best)) if opts.explain else plan

"""Routing benchmarks: the whole `fulfil routing solve` command vs its Lagrangian bound, greedy and its time limit
(repeated, and again with a CPU hog); a plain MIP (SCIP, CP-SAT) at smaller sizes. Real-time latency: bench_realtime.

Instances come from benchmarks/routing_instances.py, not from routing/generate.py (the tests' generator).
FULFIL_BENCH_ROUTING_REPEATS (default 2) instances per size; FULFIL_BENCH_ROUTING_LARGE=1 adds 20,000 x 1,000,
FULFIL_BENCH_ROUTING_HUGE=1 one 100,000 x 2,000 run as regions in parallel processes (about 5 minutes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import routing
from benchmarks.report import Hog, Result, emit, machine, span
from benchmarks.routing_instances import benchmark_instance
from routing.network import Network
from routing.plain import PlainResult, solve_plain

SEED = 1
PLAIN_BACKENDS = ("CP-SAT", "SCIP")


def _no_baseline(name: str, figure: float, unit: str, baseline_name: str, target: str, met: bool) -> None:
    """A row whose baseline produced no number (e.g. no solution in time): said in words, never inf or 0."""
    status = "MET" if met else "NOT MET"
    print(f"{name}: {figure:,.4g} {unit} | baseline ({baseline_name}) none | ratio n/a | target {target} | {status}")
    doc = {"name": name, "figure": figure, "unit": unit, "baseline_name": baseline_name, "baseline": None,
           "target": target, "met": met, "ratio": None, "machine": machine()}
    print("RESULT " + json.dumps(doc))


def _solve(inst: routing.Instance, limit: float) -> tuple[routing.Plan, float]:
    start = time.perf_counter()
    plan = routing.solve_optimal(inst, routing.Options(time_limit=limit, seed=0, workers=2))
    return plan, time.perf_counter() - start


def unavoidable_unfilled(net: Network) -> int:
    """Units every plan leaves unfilled: per order line what none of its feasible locations holds, or per sku what
    all orders want beyond all usable stock, whichever proves more."""
    per_line = 0
    wanted: dict[str, int] = {}
    for od in net.orders:
        for sku, q in od.demand.items():
            reachable = sum(net.avail.get((a.loc, sku), 0) for a in od.arcs)
            per_line += max(0, q - reachable)
            wanted[sku] = wanted.get(sku, 0) + q
    held: dict[str, int] = {}
    for (_, sku), n in net.avail.items():
        held[sku] = held.get(sku, 0) + n
    per_sku = sum(max(0, q - held.get(sku, 0)) for sku, q in wanted.items())
    return max(per_line, per_sku)


@dataclass
class Run:
    """One whole `fulfil routing solve` command: its wall time, peak memory and the plan's figures."""

    wall: float
    rss_mib: float
    cost: float
    bound: float | None
    greedy: float
    fixed_unfilled: float
    status: str
    guard: str | None
    shipments: list[Any]
    bound_kind: str | None = None
    lp_bound: float | None = None
    child_rss_mib: float = 0.0
    regions: int = 0

    @property
    def gap(self) -> float:
        return self.cost / self.bound if self.bound else float("inf")

    @property
    def gap_without_unfilled(self) -> float:
        """cost / bound once the penalty of unavoidable unfilled units is taken out of both."""
        return (self.cost - self.fixed_unfilled) / (self.bound - self.fixed_unfilled) if self.bound else float("inf")


def _command(path: Path, out: Path, limit: float) -> tuple[float, float, float, int]:
    """Run the CLI in a fresh interpreter (start-up, reading, explaining and writing included): wall s, peak MiB of
    the command's process and of its largest child (a region's process; 0 without regions)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURED, "routing", "solve", str(path), "--time-limit", f"{limit:g}",
                           "-o", str(out)], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start

    def rss(tag: str) -> float:
        found = [float(line.split()[1]) / 1024 for line in done.stderr.splitlines() if line.startswith(tag + " ")]
        return found[0] if found else float("nan")

    return wall, rss("MAXRSS"), rss("MAXRSS_CHILD"), done.returncode


# The CLI's main, then its own peak memory and its largest child's on stderr (in a fresh interpreter: the children
# are the command's own).
MEASURED = ("import resource, sys; from fulfil.cli import main; rc = main(sys.argv[1:]); "
            "print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
            "print('MAXRSS_CHILD', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(rc)")


def _run(inst: routing.Instance, path: Path, limit: float, fixed_unfilled: float, greedy: float) -> Run:
    out = path.with_suffix(".plan.json")
    wall, rss, child_rss, code = _command(path, out, limit)
    assert code == 0, f"fulfil routing solve exited {code}"
    doc = json.loads(out.read_text())
    plan = routing.plan_from_dict(doc)
    report = routing.check(inst, plan)
    assert report.feasible and report.cost_agrees, report.violations[:3]
    solver = doc["solver"]
    lp = solver.get("lp", {}).get("objective") if solver.get("lp", {}).get("status") == "optimal" else None
    return Run(wall, rss, report.cost.total, plan.lower_bound, greedy, fixed_unfilled, solver["status"],
               solver.get("guard_fired_in"), doc["shipments"], solver.get("bound_kind"), lp, child_rss,
               len(solver.get("regions", [])))


def _written(inst: routing.Instance, path: Path) -> tuple[Path, float, float]:
    """The instance written for the command; greedy's cost and the penalty of the units no plan can fill."""
    path.write_text(routing.dumps(routing.instance_to_dict(inst)))
    net = Network(inst)
    return path, routing.solve_greedy(inst, net).cost.total, inst.params.unfilled_penalty * unavoidable_unfilled(net)


def _batch(orders: int, locations: int, limit: float, target_gap: float, repeats: int, memory_gib: float | None) -> None:
    """`repeats` instances of one size (seeds 1..repeats), each solved by the whole command; the first again with a
    CPU hog running: same plan expected (deterministic), wall time and figures reported as ranges."""
    name = f"{orders}x{locations}"
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, repeats + 1):
            inst = benchmark_instance(orders, locations, seed)
            path, greedy, fixed = _written(inst, Path(tmp) / f"{name}-{seed}.json")
            runs.append(_run(inst, path, limit, fixed, greedy))
            if seed == 1:
                with Hog():
                    hogged = _run(inst, path, limit, fixed, greedy)
                first = runs[0]
        print(f"routing {name}: load average at the end {os.getloadavg()[0]:.2f}; per run (quiet): "
              + "; ".join(f"wall {r.wall:.1f} s, {r.rss_mib:.0f} MiB, cost/bound {r.gap:.4f} "
                          f"(w/o unavoidable unfilled {r.gap_without_unfilled:.4f}), vs greedy {r.cost / r.greedy:.3f}, "
                          f"status {r.status}, guard {r.guard}, bound {r.bound_kind}"
                          + (f" (cost / LP bound {r.cost / r.lp_bound:.4f})" if r.lp_bound else "") for r in runs))
        print(f"routing {name} with a CPU hog: wall {hogged.wall:.1f} s, cost {hogged.cost:,.2f} (quiet {first.cost:,.2f}), "
              f"status {hogged.status}, guard {hogged.guard}, bound {hogged.bound_kind} {hogged.gap:.4f}, "
              f"same plan {hogged.shipments == first.shipments}, same bound {hogged.bound == first.bound}")
    everything = [*runs, hogged]
    worst_gap = max(r.gap for r in everything)
    emit(Result(f"routing {name}: cost vs lower bound (pattern or LP Lagrangian, per the plan), worst of {len(everything)} (range {span([r.gap for r in everything])})",
                worst_gap, "x", "bound", 1.0, f"<= {1 + target_gap:g}", worst_gap <= 1 + target_gap))
    worst_net = max(r.gap_without_unfilled for r in everything)
    emit(Result(f"routing {name}: same, unavoidable unfilled penalty taken out of both (range "
                f"{span([r.gap_without_unfilled for r in everything])})", worst_net, "x", "bound", 1.0,
                f"<= {1 + target_gap:g}", worst_net <= 1 + target_gap))
    worst_wall = max(r.wall for r in everything)
    emit(Result(f"routing {name}: whole command wall time, worst (range {span([r.wall for r in everything], '{:.1f}')} s, "
                f"hog run {hogged.wall:.1f} s)", worst_wall, "s", "time limit", limit, f"<= {limit:g} s + 1 s",
                worst_wall <= limit + 1.0))
    worst_greedy = max(r.cost / r.greedy for r in everything)
    emit(Result(f"routing {name}: cost vs greedy, worst (range {span([r.cost / r.greedy for r in everything], '{:.3f}')})",
                worst_greedy, "x", "greedy rule engine", 1.0, "< 1 every run", worst_greedy < 1.0))
    if memory_gib is not None:
        rss = max(r.rss_mib for r in everything)
        emit(Result(f"routing {name}: peak memory of the command", rss / 1024, "GiB", "limit", memory_gib,
                    f"<= {memory_gib:g} GiB", rss / 1024 <= memory_gib))
    same = hogged.shipments == first.shipments
    if first.guard is None and hogged.guard is None:
        print(f"routing {name}: same plan with and without a CPU hog (no guard fired): {'yes' if same else 'NO'}")
    else:
        print(f"routing {name}: plan with and without a CPU hog not comparable: the guard fired "
              f"(quiet: {first.guard}, hog: {hogged.guard}; reported in the plans); same plan {same}")


def _huge(orders: int, locations: int, limit: float) -> None:
    """One very large instance (FULFIL_BENCH_ROUTING_HUGE=1: 100,000 x 2,000), solved as regions in parallel processes
    (routing/regions.py): the cost next to greedy's (and without the penalty of the units no plan can fill) and next
    to the bound priced at the regions' duals, the wall next to the limit, the memory."""
    name = f"{orders}x{locations}"
    with tempfile.TemporaryDirectory() as tmp:
        inst = benchmark_instance(orders, locations, SEED)
        path, greedy, fixed = _written(inst, Path(tmp) / f"{name}.json")
        run = _run(inst, path, limit, fixed, greedy)
    print(f"routing {name}: {run.regions} regions, status {run.status}, guard {run.guard}, cost {run.cost:,.2f}, greedy "
          f"{greedy:,.2f}, unavoidable unfilled penalty {fixed:,.2f}, load average at the end {os.getloadavg()[0]:.2f}")
    emit(Result(f"routing {name}: cost vs greedy ({run.regions} regions)", run.cost / greedy,
                "x", "greedy rule engine", 1.0, "< 1", run.cost < greedy))
    if run.bound:
        emit(Result(f"routing {name}: cost vs the bound at the regions' duals ({run.bound_kind}; without the "
                    f"unavoidable unfilled penalty {run.gap_without_unfilled:.4f})", run.gap, "x", "bound", 1.0,
                    "(no target at this size)", True))
    emit(Result(f"routing {name}: cost vs greedy, the unavoidable unfilled penalty taken out of both",
                (run.cost - fixed) / (greedy - fixed), "x", "greedy rule engine", 1.0, "< 1", run.cost < greedy))
    emit(Result(f"routing {name}: whole command wall time", run.wall, "s", "time limit", limit, f"<= {limit:g} s + 1 s",
                run.wall <= limit + 1.0))
    print(f"routing {name}: peak memory of the command's process {run.rss_mib / 1024:.2f} GiB, of its largest region "
          f"process {run.child_rss_mib / 1024:.2f} GiB")


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
    inst = benchmark_instance(orders, locations, SEED)
    plan, wall = _solve(inst, seconds)
    print(f"routing {orders}x{locations}: optimiser {plan.cost.total:,.2f} EUR in {wall:.2f} s, "
          f"own bound {plan.lower_bound or 0:,.2f}; greedy {routing.solve_greedy(inst).cost.total:,.2f}")
    _plain_same_time(inst, plan, wall, seconds)


def _plain_long(orders: int, locations: int, limit: float, plain_limit: float) -> None:
    """SCIP given far more time at a small size: how close our answer, found in a fraction of it, comes."""
    inst = benchmark_instance(orders, locations, SEED)
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


def main() -> None:
    """Every routing benchmark (about ten minutes on 2 cores; 20,000 x 1,000 adds about five)."""
    repeats = int(os.environ.get("FULFIL_BENCH_ROUTING_REPEATS", "2"))
    _batch(2000, 200, 10.0, 0.005, repeats, None)
    _batch(5000, 300, 30.0, 0.01, repeats, None)
    if os.environ.get("FULFIL_BENCH_ROUTING_LARGE") == "1":
        _batch(20000, 1000, 60.0, 0.01, repeats, 1.5)
    if os.environ.get("FULFIL_BENCH_ROUTING_HUGE") == "1":
        _huge(100_000, 2_000, 300.0)
    inst = benchmark_instance(2000, 200, SEED)
    plan, wall = _solve(inst, 10.0)
    _plain_same_time(inst, plan, wall, 10.0)
    _plain_mid(500, 100, 10.0)
    _plain_long(300, 60, 10.0, 120.0)

"""`fulfil routing solve|check|generate`: the routing library on files, no database."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

# Exit status of `solve --strict` when the plan says a fallback was used or the time-limit guard fired.
EXIT_STRICT = 3


def _write(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def _fail(message: str) -> int:
    print(f"fulfil routing: {message}", file=sys.stderr)
    return 2


def _process_age() -> float:
    """Seconds since this process started (Linux /proc; 0 elsewhere): the interpreter's start-up counts too."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def solve(args: argparse.Namespace) -> int:
    """Solve an instance file and write the plan (stdout by default), the whole command within --time-limit."""
    started = time.perf_counter() - _process_age()
    # A one-shot command: the cyclic garbage collector stays off. The solver makes millions of small objects without
    # cycles (1.6 M arcs at 20,000 x 1,000) and the collector's passes over them took half of building the network
    # and of greedy (4 of 9 s before the LP there); reference counting still frees them, and the process ends after.
    gc.disable()
    import routing

    if args.time_limit <= 0 or args.effort <= 0:
        return _fail("--time-limit and --effort must be positive")
    try:
        instance = routing.load_instance(args.instance)
    except routing.InvalidDocument as exc:
        return _fail(str(exc))
    if args.solver == "greedy":
        plan = routing.solve_greedy(instance, explanations=not args.no_explain)
    else:
        options = routing.Options(time_limit=args.time_limit, seed=args.seed, workers=args.workers,
                                  explain=not args.no_explain, started=started, effort=args.effort,
                                  regions=args.regions)
        plan = routing.solve_optimal(instance, options)
    try:
        _write(routing.dumps(routing.plan_to_dict(plan)), args.output)
    except OSError as exc:
        return _fail(f"cannot write {args.output}: {exc.strerror or exc}")
    warnings = list(plan.solver.details.get("warnings", ())) if plan.solver is not None else []
    for warning in warnings:
        print(f"fulfil routing: warning: {warning}", file=sys.stderr)
    if args.strict and warnings:
        print(f"fulfil routing: --strict: {len(warnings)} warning(s), exit {EXIT_STRICT} (the plan was written)", file=sys.stderr)
        return EXIT_STRICT
    return 0


def check(args: argparse.Namespace) -> int:
    """Recompute a plan's feasibility and cost; exit 1 when infeasible."""
    import routing

    try:
        instance = routing.load_instance(args.instance)
        plan = routing.load_plan(args.plan)
    except routing.InvalidDocument as exc:
        return _fail(str(exc))
    report = routing.check(instance, plan)
    print(json.dumps(report.to_dict(), indent=1))
    return 0 if report.feasible else 1


def generate(args: argparse.Namespace) -> int:
    """Write a generated instance (stdout by default)."""
    import routing

    if args.orders < 0 or args.locations < 1:
        return _fail("need --orders >= 0 and --locations >= 1")
    instance = routing.generate(args.orders, args.locations, args.seed)
    try:
        _write(routing.dumps(routing.instance_to_dict(instance)), args.output)
    except OSError as exc:
        return _fail(f"cannot write {args.output}: {exc.strerror or exc}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `routing` command group."""
    parser = subparsers.add_parser("routing", help="order routing: solve, check and generate instances")
    sub = parser.add_subparsers(dest="routing_command", metavar="SUBCOMMAND")
    sub.required = True

    p = sub.add_parser("solve", help="solve a routing instance and write a plan")
    p.add_argument("instance", metavar="INSTANCE.json")
    p.add_argument("--solver", choices=("greedy", "optimal"), default="optimal")
    p.add_argument("--time-limit", type=float, default=10.0, metavar="SECONDS",
                   help="the whole command's wall time (read, solve, explain, write); it also sets the deterministic "
                        "work budget, so the same seed and limit give the same plan at any load unless the guard fires")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--effort", type=float, default=1.0,
                   help="deterministic work per second of --time-limit, as a multiple of the calibrated default")
    p.add_argument("--workers", type=int, default=2, help="solver threads (the plan is deterministic per seed and workers)")
    p.add_argument("--regions", type=int, default=None, metavar="N",
                   help="solve as N geographic regions in parallel processes (--workers at a time), then improve "
                        "across borders; default: one per 25,000 orders from 50,000 orders with 2 workers or more, "
                        "1 = the batch whole")
    p.add_argument("--no-explain", action="store_true", help="leave the per-order explanations out of the plan")
    p.add_argument("--strict", action="store_true",
                   help=f"exit {EXIT_STRICT} when the plan reports a fallback or a fired time-limit guard (still written)")
    p.add_argument("-o", "--output", metavar="PLAN.json")
    p.set_defaults(func=solve)

    p = sub.add_parser("check", help="recompute a plan's feasibility and cost from the instance")
    p.add_argument("instance", metavar="INSTANCE.json")
    p.add_argument("plan", metavar="PLAN.json")
    p.set_defaults(func=check)

    p = sub.add_parser("generate", help="write a realistic random instance")
    p.add_argument("--orders", type=int, required=True)
    p.add_argument("--locations", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", metavar="INSTANCE.json")
    p.set_defaults(func=generate)

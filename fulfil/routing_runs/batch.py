"""Batch re-optimisation: every shipment nothing has started on is decided again, jointly, under a time limit."""

from __future__ import annotations

import logging
import time
from collections import defaultdict

from sqlalchemy.orm import Session

import routing
from fulfil.config import Settings
from fulfil.errors import InsufficientStock
from fulfil.models import Order, RoutingDecision, RoutingRun, Shipment
from fulfil.models.base import utcnow
from fulfil.routing_runs import assign, repository
from fulfil.routing_runs.service import build_instance
from fulfil.telemetry.metrics import BATCH_FALLBACKS, BATCH_RUN

log = logging.getLogger(__name__)


def _as_plan_shipments(order: Order, shipments: list[Shipment]) -> list[routing.Shipment]:
    out = []
    for s in shipments:
        per_sku: dict[str, int] = defaultdict(int)
        for sl in s.lines:
            per_sku[sl.gtin] += sl.qty
        out.append(routing.Shipment(order.external_id, s.location_id, tuple(routing.ShipmentLine(g, q) for g, q in per_sku.items())))
    return out


def run_batch(session: Session, settings: Settings, *, trigger: str, actor: str, time_limit: float | None = None, seed: int = 0) -> RoutingRun:
    """Re-optimise open orders' unstarted shipments together; keep started ones; apply what moved; record the run."""
    started_at = time.perf_counter()
    run = RoutingRun(kind="batch", trigger=trigger, status="running", requested_by=actor)
    session.add(run)
    session.flush()
    orders = list(repository.reoptimisable_orders(session))
    seen = {o.id: _state(o) for o in orders}  # what the plan is made for
    live = {o.id: assign.live_shipments(o) for o in orders}
    all_live = [s for ss in live.values() for s in ss]
    movable_ids = [s.id for s in all_live if s.status in assign.MOVABLE]
    gtins = {line.gtin for o in orders for line in o.lines}
    instance = build_instance(
        settings,
        repository.locations(session, exclude_shipments=[s.id for s in all_live]),
        repository.stock(session, gtins, held_by=all_live),
        [repository.order_for_routing(o, assign.remaining_units(o, []), assign.excluded_locations(o)) for o in orders],
    )
    current = routing.Plan(
        shipments=tuple(ps for o in orders for ps in _as_plan_shipments(o, live[o.id])),
        unfilled=(), cost=routing.CostBreakdown(0, 0, 0, 0, 0),
    )
    started = {(o.external_id, s.location_id) for o in orders for s in live[o.id] if s.status not in assign.MOVABLE}
    before = routing.check(instance, current)
    options = routing.Options(time_limit=time_limit or settings.routing_batch_time_limit_seconds, seed=seed, explain=True)
    plan, moves = routing.reoptimize(instance, current, started, options)
    by_external = {o.external_id: o for o in orders}
    new_by_order: dict[str, list[routing.Shipment]] = defaultdict(list)
    for ps in plan.shipments:
        new_by_order[ps.order].append(ps)
    applied = skipped = 0
    explanations = plan.explanations or {}
    shorted = repository.shorted(session, seen)
    for move in moves:
        order = by_external[move.order]
        if any((ps.location, line.sku) in shorted[order.id] for ps in new_by_order[move.order] for line in ps.lines):
            skipped += 1  # a location that short-picked a product of the order is not asked for it again
            continue
        try:
            with session.begin_nested():
                # The order's lock, then a check that nothing changed since the snapshot (a cancellation, a pick
                # started): the plan was made for the order as it was.
                repository.lock_order(session, order.id)
                repository.lock_shipments(session, order.id)
                now = repository.order_with_shipments(session, order.id)
                if now is None or _state(now) != seen[order.id]:
                    raise _Changed
                kept = [s for s in live[order.id] if s.status not in assign.MOVABLE]
                kept_keys = {(move.order, s.location_id) for s in kept}
                assign.supersede_movable(session, order, actor, f"batch run {run.id}")
                fresh = [ps for ps in new_by_order[move.order] if (ps.order, ps.location) not in kept_keys]
                assign.create_shipments(session, order, fresh, actor, kept)
                _record(session, order, run, fresh, explanations.get(move.order, {}), move, actor)
                reloaded = repository.order_with_shipments(session, order.id)
                assert reloaded is not None
                assign.refresh_status(reloaded, reloaded.shipments)
                session.flush()
            applied += 1
        except (InsufficientStock, _Changed):
            skipped += 1  # stock or the order changed since the snapshot: the order keeps its current shipments
            log.info("batch run %s: order %s kept its shipments (stock or the order changed meanwhile)", run.id, move.order)
    splits = sum(1 for ships in new_by_order.values() if len(ships) > 1)
    run.status = "done"
    run.solver = plan.solver.name if plan.solver else None
    run.solver_status = plan.solver.status if plan.solver else None
    run.orders = len(orders)
    run.shipments_before = len(current.shipments)
    run.shipments_after = len(plan.shipments)
    run.moved = applied
    run.cost_before = round(before.cost.total, 6) if before.cost else None
    run.cost_after = round(plan.cost.total, 6)
    run.lower_bound = round(plan.lower_bound, 6) if plan.lower_bound is not None else None
    run.split_orders = splits
    run.unfilled_units = sum(u.qty for u in plan.unfilled)
    run.seconds = round(time.perf_counter() - started_at, 4)
    run.details = {"moves_skipped": skipped, "movable_shipments": len(movable_ids), "started_shipments": len(started), "solver": plan.solver.details if plan.solver else {}}
    run.finished_at = utcnow()
    session.flush()
    BATCH_RUN.observe(run.seconds)
    for reason in fallback_reasons(plan.solver.details if plan.solver else {}):
        BATCH_FALLBACKS.labels(reason).inc()
        log.warning("batch run %s: %s", run.id, "; ".join(plan.solver.details.get("warnings", ())) if plan.solver else reason)
    return run


def fallback_reasons(details: dict[str, object]) -> list[str]:
    """Why a batch plan is less than the optimiser's best (the plan's own record, solver.details): never silent."""
    reasons = []
    if details.get("guard_fired_in"):
        reasons.append("guard")
    if details.get("plan_from") == "greedy" and details.get("warnings"):
        reasons.append("greedy")
    lp = details.get("lp")
    if not isinstance(lp, dict) or lp.get("status") != "optimal":
        reasons.append("lp")
    return reasons



class _Changed(Exception):
    """The order changed between the batch's snapshot and its move (cancelled, a pick started, re-routed)."""


def _state(order: Order) -> tuple[object, ...]:
    """What a batch move depends on: the order's status, cancelled units and shipments with their lines."""
    return (
        order.status,
        tuple((line.id, line.cancelled_qty) for line in order.lines),
        tuple((s.id, s.status, tuple((sl.gtin, sl.qty) for sl in s.lines)) for s in order.shipments),
    )


def _record(session: Session, order: Order, run: RoutingRun, fresh: list[routing.Shipment], explanation: dict[str, object], move: routing.Move, actor: str) -> None:
    now = utcnow()
    for old in repository.decisions(session, order.id):
        if old.superseded_at is None:
            old.superseded_at = now
    alternative = explanation.get("alternative")
    session.add(RoutingDecision(
        order_id=order.id,
        location_ids=list(move.after),
        cost=float(explanation.get("cost", 0.0)),  # type: ignore[arg-type]
        alternatives=[alternative] if alternative else [],
        reason=f"batch re-optimisation (run {run.id}): moved from {', '.join(move.before) or 'nowhere'} to {', '.join(move.after) or 'nowhere'}",
        explanation={**explanation, "previous_locations": list(move.before)},
        solver="optimal",
        run_id=run.id,
        decided_by=actor,
    ))

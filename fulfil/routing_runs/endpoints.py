"""/api/v1/routing/... and /api/v1/orders/{id}/routing|reroute"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status

import routing
from fulfil.api_types import MAX_ID, QueryDate, RecordId
from fulfil.deps import CommittingRoute, OpsOnly, OpsOrPicker, SessionDep
from fulfil.errors import NotFound
from fulfil.models import RoutingDecision, RoutingRun
from fulfil.models.routing import DECISION_TAGS
from fulfil.openapi import errors
from fulfil.orders import service as orders
from fulfil.routing_runs import batch, repository, service
from fulfil.routing_runs.export import export_instance
from fulfil.routing_runs.schemas import OrderRouting, RerouteRequest, RoutingDecisionRead, RoutingRunRead, RunCreate

router = APIRouter(tags=["routing"], route_class=CommittingRoute)


@router.get("/orders/{order_id}/routing", response_model=OrderRouting)
def order_routing(order_id: RecordId, session: SessionDep, principal: OpsOrPicker) -> OrderRouting:
    """Why an order goes where it goes: the current decision with its explanation, and every earlier one."""
    order = orders.get_order(session, order_id, principal)
    history = [RoutingDecisionRead.model_validate(d) for d in repository.decisions(session, order_id)]
    current = next((d for d in history if d.superseded_at is None), None)
    return OrderRouting(order_id=order.id, external_id=order.external_id, status=order.status.value, current=current, history=history)


@router.post("/orders/{order_id}/reroute", response_model=RoutingDecisionRead, responses=errors(409))
def reroute_order(order_id: RecordId, data: RerouteRequest, request: Request, session: SessionDep, principal: OpsOnly) -> RoutingDecisionRead:
    """Decide again where an order's unstarted shipments go (optionally excluding or forcing locations)."""
    routed = service.reroute(session, order_id, request.app.state.settings, principal.label, exclude=set(data.exclude_locations), only=data.location_id)
    return RoutingDecisionRead.model_validate(routed.decision)


DecisionTag = Literal["split", "unfilled", "promise_risk", "override", "rerouted", "batch", "hold"]


@router.get("/routing/decisions", response_model=list[RoutingDecisionRead])
def list_decisions(
    session: SessionDep, _: OpsOnly,
    location_id: Annotated[str | None, Query(max_length=64, description="Decisions sending (part of) an order to this location.")] = None,
    day: Annotated[QueryDate | None, Query(description="Decisions made on this day (UTC).")] = None,
    tag: Annotated[list[DecisionTag], Query(max_length=len(DECISION_TAGS), description="Decisions carrying every tag given.")] = [],  # noqa: B006
    current: Annotated[bool, Query(description="Only decisions still in force (not superseded by a later one).")] = False,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Page on: decisions older than this id.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RoutingDecisionRead]:
    """What the router decided, newest first, with each decision's explanation: filter by location, day and tags
    (split, unfilled, promise_risk, override, rerouted, batch, hold); page with `before_id` (the last id seen)."""
    since = datetime.combine(day, time.min, tzinfo=UTC) if day is not None else None
    until = since + timedelta(days=1) if since is not None else None
    found = repository.find_decisions(session, location_id=location_id, since=since, until=until, tags=tag, current_only=current,
                                      before_id=before_id, limit=limit)
    return [RoutingDecisionRead.model_validate(d) for d in found]


@router.get("/routing/decisions/{decision_id}", response_model=RoutingDecisionRead)
def get_decision(decision_id: RecordId, session: SessionDep, _: OpsOnly) -> RoutingDecisionRead:
    """One decision: where, at what cost, the alternative, the binding constraints, what was unfilled, who decided."""
    decision = session.get(RoutingDecision, decision_id)
    if decision is None:
        raise NotFound(f"routing decision {decision_id} not found", details={"decision_id": decision_id})
    return RoutingDecisionRead.model_validate(decision)


@router.post("/routing/runs", response_model=RoutingRunRead, status_code=status.HTTP_201_CREATED)
def create_run(data: RunCreate, request: Request, session: SessionDep, principal: OpsOnly) -> RoutingRunRead:
    """Run the batch re-optimisation now (it also runs on a schedule inside `fulfil serve`)."""
    run = batch.run_batch(session, request.app.state.settings, trigger="api", actor=principal.label, time_limit=data.time_limit_seconds, seed=data.seed)
    return RoutingRunRead.of(run)


@router.get("/routing/runs", response_model=list[RoutingRunRead])
def list_runs(session: SessionDep, _: OpsOnly, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[RoutingRunRead]:
    """Recent routing runs."""
    return [RoutingRunRead.of(r) for r in repository.runs(session, limit)]


@router.get("/routing/runs/{run_id}", response_model=RoutingRunRead)
def get_run(run_id: RecordId, session: SessionDep, _: OpsOnly) -> RoutingRunRead:
    """One run: cost before and after, splits, unfilled units, gap to the proven lower bound, time."""
    run = session.get(RoutingRun, run_id)
    if run is None:
        raise NotFound(f"routing run {run_id} not found", details={"run_id": run_id})
    return RoutingRunRead.of(run)


@router.get("/routing/instance")
def get_instance(request: Request, session: SessionDep, _: OpsOnly) -> dict[str, Any]:
    """The live state as a `fulfil.routing-instance/1` document: replay it with `fulfil routing solve`."""
    return routing.instance_to_dict(export_instance(session, request.app.state.settings))

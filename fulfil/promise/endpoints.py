"""/api/v1/promise"""

from __future__ import annotations

from fastapi import APIRouter, Request

from fulfil.deps import CommittingRoute, LocationIndexDep, OpsOrChannel, SessionDep
from fulfil.models.base import utcnow
from fulfil.openapi import errors
from fulfil.promise import service
from fulfil.promise.schemas import PromiseRequest, PromiseResult

router = APIRouter(tags=["channels"], route_class=CommittingRoute)


@router.post("/promise", response_model=PromiseResult, responses=errors(404, 409))
def promise(data: PromiseRequest, request: Request, session: SessionDep, principal: OpsOrChannel, index: LocationIndexDep) -> PromiseResult:
    """The delivery and pickup options the network can keep for a basket right now: earliest delivery date, pickup
    stores and when each can have it ready, cost, the locations that would serve it and whether it splits. Routed by
    the same real-time router and cost model as order intake. With `hold_seconds` one option's units are held for
    checkout (`hold`); an order placed with its `hold_id` takes them. 409 when nothing (or not the option asked) can
    be held."""
    return service.promise(session, data, principal, request.app.state.settings, utcnow(), index)

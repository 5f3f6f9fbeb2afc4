"""/api/v1/ops/kpis: the period's KPIs as JSON, for the ops console and for anyone's own reporting; /api/v1/ops/whatif:
a past window replayed under two policies, side by side."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from fulfil.api_types import QueryDateTime
from fulfil.deps import CommittingRoute, OpsOnly, SessionDep
from fulfil.errors import InvalidInput
from fulfil.models.base import utcnow
from fulfil.openapi import errors
from fulfil.ops import kpis, whatif
from fulfil.ops.schemas import PolicyIn, WhatIfRead, WhatIfRequest

router = APIRouter(prefix="/ops", tags=["operations"], route_class=CommittingRoute)

MAX_DAYS = 31


@router.get("/kpis")
def get_kpis(
    session: SessionDep, _: OpsOnly,
    since: Annotated[QueryDateTime | None, Query(description="Start of the period, with its zone; default: today 00:00 UTC.")] = None,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="Length of the period in days (a period still running counts up to now).")] = 1,
) -> dict[str, Any]:
    """The KPIs of a period (1 to 31 days), each with its definition: orders, cost per order, split rate, unfilled
    units, promise misses, store pick times, click-and-collect ready time and no-show rate, returns and restock time,
    parcel verification failures and overrides, stock accuracy from RFID (now), holds converted vs expired, webhook
    delivery health. Every figure traces to rows of the tables named in docs/operations.md."""
    start = since or datetime.combine(utcnow().date(), time.min, tzinfo=UTC)
    if start.tzinfo is None:
        raise InvalidInput("since needs a time zone (e.g. 2026-12-06T00:00:00Z)", details=[{"field": "query.since", "message": "no time zone"}])
    start = start.astimezone(UTC)
    return kpis.compute(session, start, start + timedelta(days=days))


def _policy(data: PolicyIn) -> whatif.Policy:
    return whatif.Policy(data.solver, data.split_penalty, data.safety_stock)


@router.post("/whatif", response_model=WhatIfRead, responses=errors(409))
def what_if(data: WhatIfRequest, request: Request, session: SessionDep, _: OpsOnly) -> dict[str, Any]:
    """Replay a past window (at most 7 days, 3,000 orders) under two policies — greedy, optimised or realtime, each
    with its own split penalty and safety stock — from the orders created in it and the stock as it stood at its
    start (rebuilt from the stock event log), and answer the KPIs side by side with what was decided at the time.
    Nothing is written. A window that is empty, too long, too large or not started yet is 409 with the reason."""
    return whatif.replay(session, request.app.state.settings, data.since, data.until, _policy(data.a), _policy(data.b), data.seed)

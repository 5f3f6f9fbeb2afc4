"""/api/v1/ops/kpis: the period's KPIs as JSON, for the ops console and for anyone's own reporting."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from fulfil.api_types import QueryDateTime
from fulfil.deps import CommittingRoute, OpsOnly, SessionDep
from fulfil.errors import InvalidInput
from fulfil.models.base import utcnow
from fulfil.ops import kpis

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

"""/api/v1/ops/kpis: the period's KPIs as JSON, for the ops console and for anyone's own reporting."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from fulfil.deps import CommittingRoute, OpsOnly, SessionDep
from fulfil.errors import InvalidInput
from fulfil.models.base import utcnow
from fulfil.ops import kpis

router = APIRouter(prefix="/ops", tags=["operations"], route_class=CommittingRoute)

MAX_SPAN = timedelta(days=31)


@router.get("/kpis")
def get_kpis(
    session: SessionDep, _: OpsOnly,
    since: Annotated[datetime | None, Query(description="Start of the period (with its zone); default: today 00:00 UTC.")] = None,
    until: Annotated[datetime | None, Query(description="End of the period, excluded (with its zone); default: now.")] = None,
) -> dict[str, Any]:
    """The KPIs of a period (at most 31 days), each with its definition: orders, cost per order, split rate, unfilled
    units, promise misses, store pick times, click-and-collect ready time and no-show rate, returns and restock time,
    parcel verification failures and overrides, stock accuracy from RFID (now), holds converted vs expired, webhook
    delivery health. Every figure traces to rows of the tables named in docs/operations.md."""
    now = utcnow()
    start = since or datetime.combine(now.date(), time.min, tzinfo=UTC)
    end = until or now
    for name, value in (("since", start), ("until", end)):
        if value.tzinfo is None:
            raise InvalidInput(f"{name} needs a time zone (e.g. 2026-12-06T00:00:00Z)", details=[{"field": f"query.{name}", "message": "no time zone"}])
    if not start < end:
        raise InvalidInput("since must be before until", details=[{"field": "query.since", "message": "not before until"}])
    if end - start > MAX_SPAN:
        raise InvalidInput("a period is at most 31 days", details=[{"field": "query.until", "message": "more than 31 days after since"}])
    return kpis.compute(session, start.astimezone(UTC), end.astimezone(UTC))

"""/api/v1/stock"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from fulfil.api_types import MAX_EVENT_ID, IdempotencyKey, Offset, OptionalRecordId
from fulfil.catalog.schemas import Gtin
from fulfil.deps import CommittingRoute, OpsOnly, OpsOrPicker, SessionDep, check_location
from fulfil.errors import NotFound
from fulfil.horizon import Horizon
from fulfil.models import StockCause
from fulfil.openapi import errors, replayable
from fulfil.stock import quarantine, repository, service
from fulfil.tasks import service as tasks
from fulfil.stock.schemas import (
    AdjustmentReason, QuarantineExit, QuarantineResult, SafetyUpdate, StockAdjustmentCreate, StockAdjustmentResult, StockEventRead, StockLevelRead,
)

router = APIRouter(prefix="/stock", tags=["stock"], route_class=CommittingRoute)


@router.get("", response_model=list[StockLevelRead])
def list_stock(
    session: SessionDep,
    principal: OpsOrPicker,
    location_id: Annotated[str | None, Query(max_length=64)] = None,
    gtin: Annotated[Gtin | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Offset = 0,
) -> list[StockLevelRead]:
    """Stock levels by location and/or GTIN (a picker: its own store only)."""
    if principal.location_id is not None:
        location_id = location_id or principal.location_id
        check_location(principal, location_id)
    rows = repository.list_levels(session, location_id=location_id, gtin=gtin, limit=limit, offset=offset)
    return [StockLevelRead.of(r) for r in rows]


@router.get("/events", response_model=list[StockEventRead])
def list_events(
    session: SessionDep,
    principal: OpsOrPicker,
    location_id: Annotated[str | None, Query(max_length=64)] = None,
    gtin: Annotated[Gtin | None, Query()] = None,
    order_id: OptionalRecordId = None,
    after_id: Annotated[int | None, Query(ge=0, le=MAX_EVENT_ID, description="Only events with a larger id (paging, polling).")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[StockEventRead]:
    """The append-only log that explains every stock change, oldest first."""
    if principal.location_id is not None:
        location_id = location_id or principal.location_id
        check_location(principal, location_id)
    # Only events no transaction in flight can still come before: a poller moving after_id never skips one (horizon).
    upto = Horizon().settle(session)["stock_events"]
    rows = repository.list_events(session, location_id=location_id, gtin=gtin, order_id=order_id, limit=limit, after_id=after_id, upto=upto)
    return [StockEventRead.model_validate(r) for r in rows]


@router.post(
    "/adjustments",
    response_model=StockAdjustmentResult,
    status_code=status.HTTP_201_CREATED,
    responses=replayable(StockAdjustmentResult, 404, 409),
)
def adjust_stock(
    data: StockAdjustmentCreate, session: SessionDep, principal: OpsOnly, response: Response, idempotency_key: IdempotencyKey = None
) -> StockAdjustmentResult:
    """Change on-hand stock by a delta or to a counted value, with a reason; retry-safe with Idempotency-Key."""
    cause = service.Cause(StockCause.MANUAL, actor=principal.label, reason=data.reason.value, note=data.note)
    key = f"manual:{idempotency_key}" if idempotency_key else None
    fingerprint = hashlib.sha256(data.model_dump_json().encode()).hexdigest() if key else None
    moved = service.adjust(
        session, data.location_id, data.gtin, cause, delta=data.delta, set_on_hand=data.set_on_hand, idempotency_key=key, request_hash=fingerprint
    )
    if not moved.created:
        response.status_code = status.HTTP_200_OK
    elif data.set_on_hand is not None or data.reason is AdjustmentReason.COUNT:
        # A count of the product here was recorded: the cycle count a short pick raised there is done.
        tasks.close_cycle_counts(session, data.location_id, data.gtin, principal.label)
    level = repository.get_level(session, moved.event.location_id, moved.event.gtin)
    assert level is not None
    session.refresh(level)
    return StockAdjustmentResult(event=StockEventRead.model_validate(moved.event), level=StockLevelRead.of(level), replayed=not moved.created)


@router.post(
    "/quarantine",
    response_model=QuarantineResult,
    status_code=status.HTTP_201_CREATED,
    responses=replayable(QuarantineResult, 404, 409),
)
def leave_quarantine(
    data: QuarantineExit, session: SessionDep, principal: OpsOnly, response: Response, idempotency_key: IdempotencyKey = None
) -> QuarantineResult:
    """Quarantined units after inspection: `dispose` writes them off, `restore` puts them back on hand (sellable at once).
    By quantity, or by the tagged units' EPCs (their tags move with them); retry-safe with Idempotency-Key."""
    key = f"quarantine:{idempotency_key}" if idempotency_key else None
    fingerprint = hashlib.sha256(data.model_dump_json().encode()).hexdigest() if key else None
    moved, epcs = quarantine.leave(session, data, principal, idempotency_key=key, request_hash=fingerprint)
    if not moved.created:
        response.status_code = status.HTTP_200_OK
    level = repository.get_level(session, moved.event.location_id, moved.event.gtin)
    assert level is not None
    session.refresh(level)
    return QuarantineResult(event=StockEventRead.model_validate(moved.event), level=StockLevelRead.of(level), epcs=epcs, replayed=not moved.created)


@router.get("/{location_id}/{gtin}", response_model=StockLevelRead)
def get_stock(location_id: Annotated[str, Path(max_length=64)], gtin: Annotated[Gtin, Path()], session: SessionDep, principal: OpsOrPicker) -> StockLevelRead:
    """One stock level."""
    check_location(principal, location_id)
    level = repository.get_level(session, location_id, gtin)
    if level is None:
        raise NotFound(f"no stock record of {gtin} at {location_id}", details={"location_id": location_id, "gtin": gtin})
    return StockLevelRead.of(level)


@router.put("/{location_id}/{gtin}/safety", response_model=StockLevelRead, responses=errors(409))
def set_safety(
    location_id: Annotated[str, Path(max_length=64)], gtin: Annotated[Gtin, Path()], data: SafetyUpdate, session: SessionDep, principal: OpsOnly
) -> StockLevelRead:
    """Set the safety stock held back for walk-in customers."""
    service.set_safety(session, location_id, gtin, data.safety, service.Cause(StockCause.MANUAL, actor=principal.label, reason="safety", note=data.note))
    level = repository.get_level(session, location_id, gtin)
    assert level is not None
    session.refresh(level)
    return StockLevelRead.of(level)

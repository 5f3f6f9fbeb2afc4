"""/api/v1/locations/{id}/stream: server-sent events of stock, verification and tag-anomaly changes (pages, dashboards)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from fulfil.api_types import MAX_EVENT_ID, MAX_ID, LocationIdPath
from fulfil.auth.service import Principal
from fulfil.deps import check_location, require_detached
from fulfil.live import repository
from fulfil.errors import NotFound
from fulfil.models import Location, Role
from fulfil.shipments.schemas import VerificationRead
from fulfil.stock.schemas import StockEventRead
from fulfil.tags.schemas import TagAnomalyRead

# The stream holds no transaction between polls (require_detached, a short session per poll).
router = APIRouter(tags=["live"])
Reader = Annotated[Principal, Depends(require_detached(Role.OPS, Role.PICKER))]

POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0
BATCH = 200


Cursor = tuple[int, int, int]  # the last stock event, verification and tag anomaly sent


def _cursor(value: str | None) -> tuple[int, int, int | None] | None:
    """`<stock id>.<verification id>.<anomaly id>` from Last-Event-ID (an id from before anomalies were streamed has
    two parts: its anomaly position is unknown, None); None when absent, malformed or out of range."""
    if not value:
        return None
    try:
        parts = [int(part) for part in value.split(".")]
    except ValueError:
        return None
    # Ids out of range name no event (stock events have 64-bit ids, verdicts and anomalies 32-bit): start from now.
    if not parts or not 0 <= parts[0] <= MAX_EVENT_ID or not all(0 <= part <= MAX_ID for part in parts[1:]):
        return None
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    return (parts[0], parts[1], None) if len(parts) == 2 else None


@router.get("/locations/{location_id}/stream", response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}})
async def stream(
    location_id: LocationIdPath,
    request: Request,
    principal: Reader,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=64, description="`<stock event id>.<verdict id>` of the last event seen.")] = None,
    from_start: Annotated[bool, Query(description="Replay the location's whole history first.")] = False,
    max_events: Annotated[int | None, Query(ge=1, le=100_000, description="Close the stream after this many events.")] = None,
    max_seconds: Annotated[float | None, Query(gt=0, le=86_400, description="Close the stream after this long.")] = None,
) -> StreamingResponse:
    """`event: stock` for every stock movement, `event: verification` for every parcel verdict and `event: anomaly`
    for every sold or shipped tag seen at the location, as they are committed (by the API, ingest workers or another
    process). Resume with Last-Event-ID."""
    check_location(principal, location_id)
    factory = request.app.state.session_factory

    def exists() -> bool:
        with factory() as session:
            return session.get(Location, location_id) is not None

    if not await run_in_threadpool(exists):
        raise NotFound(f"location {location_id} not found", details={"location_id": location_id})

    def load(cursor: Cursor) -> tuple[list[tuple[str, dict[str, Any], Cursor]], Cursor]:
        with factory() as session:
            out: list[tuple[str, dict[str, Any], Cursor]] = []
            s_id, v_id, a_id = cursor
            for ev in repository.stock_after(session, location_id, s_id, BATCH):
                s_id = ev.id
                out.append(("stock", StockEventRead.model_validate(ev).model_dump(mode="json"), (s_id, v_id, a_id)))
            for vf in repository.verifications_after(session, location_id, v_id, BATCH):
                v_id = vf.id
                out.append(("verification", VerificationRead.model_validate(vf).model_dump(mode="json"), (s_id, v_id, a_id)))
            for an in repository.anomalies_after(session, location_id, a_id, BATCH):
                a_id = an.id
                out.append(("anomaly", TagAnomalyRead.model_validate(an).model_dump(mode="json"), (s_id, v_id, a_id)))
            return out, (s_id, v_id, a_id)

    def start() -> Cursor:
        with factory() as session:
            return repository.heads(session, location_id)

    resumed = _cursor(last_event_id)
    if resumed is None:
        cursor = (0, 0, 0) if from_start else await run_in_threadpool(start)
    elif resumed[2] is None:  # a two-part id: resume stock and verdicts there, anomalies from now on
        cursor = (resumed[0], resumed[1], (await run_in_threadpool(start))[2])
    else:
        cursor = (resumed[0], resumed[1], resumed[2])

    async def events() -> AsyncIterator[str]:
        nonlocal cursor
        sent = 0
        quiet_since = opened = time.monotonic()
        yield "retry: 2000\n\n"
        while not await request.is_disconnected() and (max_seconds is None or time.monotonic() - opened < max_seconds):
            batch, cursor = await run_in_threadpool(load, cursor)
            for kind, data, at in batch:
                yield f"id: {at[0]}.{at[1]}.{at[2]}\nevent: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
                sent += 1
                if max_events is not None and sent >= max_events:
                    return
            if batch:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
                yield ": keep-alive\n\n"
                quiet_since = time.monotonic()
            if not batch:
                await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

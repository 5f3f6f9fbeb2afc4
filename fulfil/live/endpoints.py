"""/api/v1/locations/{id}/stream: server-sent events of stock, verification, tag-anomaly and business changes (pages,
dashboards)."""

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
from fulfil.journal.schemas import BusinessEventRead
from fulfil.live import repository
from fulfil.live.notify import Notifier, Subscription
from fulfil.horizon import Horizon
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


Cursor = tuple[int, int, int, int]  # the last stock event, verification, tag anomaly and business event sent
Resumed = tuple[int, int, int | None, int | None]


def _cursor(value: str | None) -> Resumed | None:
    """`<stock id>.<verification id>.<anomaly id>.<business event id>` from Last-Event-ID; an id from before a kind was
    streamed has fewer parts, and the positions it lacks are unknown (None). None when absent, malformed or out of
    range."""
    if not value:
        return None
    try:
        parts = [int(part) for part in value.split(".")]
    except ValueError:
        return None
    # Ids out of range name no event (stock events have 64-bit ids, verdicts and anomalies 32-bit): start from now.
    # Business events have 64-bit ids too.
    if not 2 <= len(parts) <= 4 or not 0 <= parts[0] <= MAX_EVENT_ID or not all(0 <= part <= MAX_ID for part in parts[1:3]):
        return None
    if len(parts) == 4 and not 0 <= parts[3] <= MAX_EVENT_ID:
        return None
    padded = parts + [None] * (4 - len(parts))
    return padded[0], padded[1], padded[2], padded[3]  # type: ignore[return-value]


@router.get("/locations/{location_id}/stream", response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}})
async def stream(
    location_id: LocationIdPath,
    request: Request,
    principal: Reader,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=96, description="`<stock event id>.<verdict id>.<anomaly id>.<business event id>` of the last event seen.")] = None,
    from_start: Annotated[bool, Query(description="Replay the location's whole history first.")] = False,
    max_events: Annotated[int | None, Query(ge=1, le=100_000, description="Close the stream after this many events.")] = None,
    max_seconds: Annotated[float | None, Query(gt=0, le=86_400, description="Close the stream after this long.")] = None,
) -> StreamingResponse:
    """`event: stock` for every stock movement, `event: verification` for every parcel verdict, `event: anomaly`
    for every sold or shipped tag seen at the location, and the location's business events named by their family:
    `event: shipment` (a shipment there entered a status), `event: order`, `event: pickup` (a customer checked in at
    the curb, a pickup reminder or expiry), `event: task` (a put back or cycle count opened or done) and
    `event: return`, as they are committed (by the API, ingest workers or another process). Resume with Last-Event-ID."""
    check_location(principal, location_id)
    factory = request.app.state.session_factory

    # Ids are drawn before commit: each poll reads only what no transaction in flight can still come before (horizon).
    horizon = Horizon()

    def load(cursor: Cursor) -> tuple[list[tuple[str, dict[str, Any], Cursor]], Cursor]:
        with factory() as session:
            limits = horizon.check_again_if_holding(session)
            out: list[tuple[str, dict[str, Any], Cursor]] = []
            s_id, v_id, a_id, b_id = cursor
            for ev in repository.stock_after(session, location_id, s_id, BATCH, limits["stock_events"]):
                s_id = ev.id
                out.append(("stock", StockEventRead.model_validate(ev).model_dump(mode="json"), (s_id, v_id, a_id, b_id)))
            for vf in repository.verifications_after(session, location_id, v_id, BATCH, limits["parcel_verifications"]):
                v_id = vf.id
                out.append(("verification", VerificationRead.model_validate(vf).model_dump(mode="json"), (s_id, v_id, a_id, b_id)))
            for an in repository.anomalies_after(session, location_id, a_id, BATCH, limits["tag_anomalies"]):
                a_id = an.id
                out.append(("anomaly", TagAnomalyRead.model_validate(an).model_dump(mode="json"), (s_id, v_id, a_id, b_id)))
            for be in repository.business_after(session, location_id, b_id, BATCH, limits["domain_events"]):
                b_id = be.id
                data = BusinessEventRead.model_validate(be).model_dump(mode="json")
                out.append((be.kind.split(".", 1)[0], data, (s_id, v_id, a_id, b_id)))
            return out, (s_id, v_id, a_id, b_id)

    def begin() -> Cursor:
        """In one session: the location exists, the horizon is settled (unless replaying from the start), and the
        cursor to begin from: now, the start, or where Last-Event-ID says."""
        with factory() as session:
            if session.get(Location, location_id) is None:
                raise NotFound(f"location {location_id} not found", details={"location_id": location_id})
            resumed = _cursor(last_event_id)
            if resumed is None and from_start:
                return (0, 0, 0, 0)
            limits = horizon.settle(session)
            if resumed is None:
                return repository.heads(session, location_id, limits)
            if None not in resumed:
                return resumed  # type: ignore[return-value]
            # An id with fewer parts: resume the kinds it names there, the others from now on.
            now = repository.heads(session, location_id, limits)
            return (resumed[0], resumed[1], now[2] if resumed[2] is None else resumed[2], now[3] if resumed[3] is None else resumed[3])

    cursor = await run_in_threadpool(begin)

    notifier: Notifier | None = request.app.state.live_notifier
    notified_poll = request.app.state.settings.live_poll_seconds

    async def pause(bell: Subscription | None) -> None:
        """Until the location has news (PostgreSQL NOTIFY) or the next poll is due."""
        if bell is not None and notifier is not None and notifier.listening and not horizon.holding:
            end = time.monotonic() + notified_poll
            # Looked up every POLL_SECONDS (no query): a stopping server or a gone client ends the stream as promptly as before.
            while not await bell.wait(min(POLL_SECONDS, max(0.0, end - time.monotonic()))) and time.monotonic() < end:
                if request.app.state.stopping or await request.is_disconnected():
                    return
        else:  # SQLite, the listener down, or ids held back behind a writer elsewhere (its commit rings its own location)
            await asyncio.sleep(POLL_SECONDS)

    async def events() -> AsyncIterator[str]:
        nonlocal cursor
        sent = 0
        quiet_since = opened = time.monotonic()
        bell = notifier.subscribe(location_id) if notifier is not None else None
        try:
            yield "retry: 2000\n\n"
            # A stopping server ends its streams (clients reconnect, with Last-Event-ID, to another process or after the restart).
            while not request.app.state.stopping and not await request.is_disconnected() and (max_seconds is None or time.monotonic() - opened < max_seconds):
                if bell is not None:
                    bell.event.clear()  # news from here on rings again: nothing committed during the read is slept through
                batch, cursor = await run_in_threadpool(load, cursor)
                for kind, data, at in batch:
                    yield f"id: {at[0]}.{at[1]}.{at[2]}.{at[3]}\nevent: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
                    sent += 1
                    if max_events is not None and sent >= max_events:
                        return
                if batch:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
                    yield ": keep-alive\n\n"
                    quiet_since = time.monotonic()
                if not batch:
                    await pause(bell)
        finally:
            if bell is not None:
                bell.close()

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

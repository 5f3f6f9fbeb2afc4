"""/api/v1/feeds/local-inventory: the local inventory feed, streamed (ops and channel tokens)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import Receive, Scope, Send

from fulfil.auth.service import Principal
from fulfil.config import Settings
from fulfil.db import snapshot_session
from fulfil.deps import require_detached
from fulfil.feeds import cursor as cursors
from fulfil.feeds import formats, service
from fulfil.feeds.schemas import FeedFormat, LocalInventoryFeed
from fulfil.models import Role
from fulfil.openapi import errors

# The feed holds no request transaction: it reads in a snapshot session of its own while it streams.
router = APIRouter(prefix="/feeds", tags=["feeds"])
Reader = Annotated[Principal, Depends(require_detached(Role.OPS, Role.CHANNEL))]

CURSOR_HEADER = "Fulfil-Feed-Cursor"

_CURSOR_DOC = {"description": "The cursor to pass as `since` next time.", "required": True, "schema": {"type": "string", "pattern": cursors.PATTERN}}


@router.get(
    "/local-inventory",
    response_class=StreamingResponse,
    responses={
        200: {
            "model": LocalInventoryFeed,
            "description": "The feed: JSON, or Google's tab-separated file (`format=tsv` or `Accept: text/tab-separated-values`).",
            "content": {formats.TSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
            "headers": {CURSOR_HEADER: _CURSOR_DOC},
        },
        **errors(410),
    },
)
def local_inventory(
    request: Request,
    principal: Reader,
    since: Annotated[str | None, Query(
        pattern=cursors.PATTERN, max_length=cursors.MAX_LENGTH,
        description="A cursor from an earlier feed: only the rows that may have changed since are sent (an incremental feed).",
    )] = None,
    format: Annotated[FeedFormat | None, Query(description="json (default) or tsv; without it, `Accept: text/tab-separated-values` asks for tsv.")] = None,
) -> StreamingResponse:
    """Per active store and product it has a stock level for: the quantity that may be sold, its availability
    bucket, and the pickup method and SLA, with Google's local inventory attribute names and English values
    (docs/feeds.md). Without `since`, the full feed (publish it daily); with `since`, every row that may have changed
    since that cursor (an incremental feed: re-sent rows are possible, missed changes are not), including the rows of
    a store that closed, withdrawn as out of stock. Every answer carries the next cursor (header Fulfil-Feed-Cursor,
    and `cursor` in JSON). A cursor that is not one is 422; one handed out under other feed settings is 410 (fetch
    the full feed). Safety stock, reserved and quarantined units are never advertised."""
    settings: Settings = request.app.state.settings
    factory: sessionmaker[Session] = request.app.state.session_factory
    start = _start(factory, settings, since)
    tsv = format is FeedFormat.TSV or (format is None and formats.TSV_MEDIA_TYPE in request.headers.get("accept", "").lower())
    rows = _streamed(factory, settings, start)
    headers = {CURSOR_HEADER: str(start.cursor), "Cache-Control": "no-store"}
    if tsv:
        return FeedResponse(formats.tsv(rows), rows, media_type=f"{formats.TSV_MEDIA_TYPE}; charset=utf-8", headers=headers)
    body = formats.json_document(rows, str(start.cursor), None if start.since is None else str(start.since))
    return FeedResponse(body, rows, media_type=formats.JSON_MEDIA_TYPE, headers=headers)


class FeedResponse(StreamingResponse):
    """A streamed feed whose generators are closed when the response ends, however it ends (done, the client gone,
    the server stopping), so the snapshot they read in is given back at once, not when the garbage collector gets
    to them: Starlette drops an interrupted body iterator without closing it."""

    def __init__(self, body: Generator[str, None, None], rows: Generator[Any, None, None], **kwargs: Any) -> None:
        super().__init__(body, **kwargs)
        self._generators = (body, rows)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):  # closing rolls the snapshot back: not to be cut short by the cancellation
                await anyio.to_thread.run_sync(self._close)

    def _close(self) -> None:
        for generator in self._generators:
            generator.close()


def _start(factory: sessionmaker[Session], settings: Settings, since: str | None) -> service.Start:
    """The cursor to hand out and the one asked for, checked, in a short read of its own (before the rows, so the
    cursor is never later than them; on SQLite it does not wait for writers)."""
    with snapshot_session(factory) as session:
        return service.start(session, settings, since)


def _streamed(factory: sessionmaker[Session], settings: Settings, start: service.Start) -> Generator[service.FeedRow, None, None]:
    """The rows, read in one snapshot opened when the response starts and closed when it ends (or is abandoned)."""
    session = snapshot_session(factory)
    try:
        yield from service.rows(session, settings, start.since)
    finally:
        session.close()


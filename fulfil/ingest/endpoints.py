"""/api/v1/ingest: readers posting payloads over HTTP (devices), and the ingest status (ops)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from fulfil.auth.service import Principal
from fulfil.deps import require_detached
from fulfil.errors import Conflict, NotFound
from fulfil.ingest.runtime import IngestRuntime
from fulfil.models import Role
from fulfil.openapi import errors

# No request transaction here: the pipeline commits its own unit of work (on SQLite a request
# transaction would hold the write lock the pipeline needs).
router = APIRouter(prefix="/ingest", tags=["ingest"])
Device = Annotated[Principal, Depends(require_detached(Role.DEVICE, Role.OPS))]
OpsOnly = Annotated[Principal, Depends(require_detached(Role.OPS))]

MAX_PAYLOAD_BYTES = 1_000_000


def _runtime(request: Request) -> IngestRuntime:
    runtime: IngestRuntime | None = getattr(request.app.state, "ingest", None)
    if runtime is None:
        raise Conflict("ingest is not configured: set FULFIL_READERS_CONFIG", code="ingest_not_configured")
    return runtime


@router.post(
    "/payloads",
    responses=errors(404, 409),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The payload as the reader sends it: Impinj or Zebra JSON, or text lines (see docs/readers.md).",
            "content": {"application/json": {"schema": {}}, "text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def post_payload(request: Request, principal: Device, reader: Annotated[str, Query(max_length=128, description="The reader's id in the readers file.")]) -> dict[str, Any]:
    """A reader's payload over HTTP (Impinj webhook, Zebra HTTP POST, text lines): parsed, smoothed, applied."""
    runtime = _runtime(request)
    spec = runtime.config.reader(reader)
    if spec is None or (principal.location_id is not None and spec.location != principal.location_id):
        # Another location's reader answers as an unknown one: a device token learns nothing about other locations.
        raise NotFound(f"reader {reader} is not in the readers file", details={"reader": reader})
    body = await request.body()
    if len(body) > MAX_PAYLOAD_BYTES:
        raise Conflict(f"payload larger than {MAX_PAYLOAD_BYTES} bytes", code="too_large")
    result = runtime.pipeline.feed_payload(body, reader=spec.id, fmt=spec.format)
    effects = await run_in_threadpool(runtime.pipeline.commit)
    return {
        "reads": len(result.reads),
        "reader_events": len(result.events),
        "rejected": [{"reason": r.reason, "index": r.index} for r in result.rejections],
        "effects": [{"outcome": e.outcome.value, "epc": e.epc, "location": e.location, "zone": e.zone, "gtin": e.gtin, "detail": e.detail} for e in effects],
    }


@router.get("/status", responses=errors(409))
def ingest_status(request: Request, _: OpsOnly) -> dict[str, Any]:
    """Counters: payloads, reads, rejections, facts, effects by outcome, MQTT session state."""
    return _runtime(request).status()

"""/healthz (the process is up) and /readyz (the database answers): the only routes without a token."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


_READINESS = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {"status": {"type": "string", "enum": ["ok", "unavailable"]}, "checks": {"type": "object", "additionalProperties": {"type": "string"}}},
}


@router.get(
    "/readyz",
    responses={
        200: {"description": "Ready.", "content": {"application/json": {"schema": _READINESS}}},
        503: {"description": "Not ready: `checks` says which dependency failed.", "content": {"application/json": {"schema": _READINESS}}},
    },
)
async def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers a query."""

    def probe() -> None:
        with request.app.state.session_factory() as session:
            session.execute(text("SELECT 1"))

    try:
        await run_in_threadpool(probe)
    except Exception as exc:  # any failure means "not ready", and says why
        log.warning("readiness check failed: %s", exc)
        return JSONResponse(status_code=503, content={"status": "unavailable", "checks": {"database": f"error: {type(exc).__name__}"}})
    return JSONResponse(content={"status": "ok", "checks": {"database": "ok"}})

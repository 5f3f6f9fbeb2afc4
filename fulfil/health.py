"""/healthz (the process is up, and what background jobs it runs) and /readyz (the database answers): the only
routes without a token."""

from __future__ import annotations

import logging
import os
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from fulfil.periodic import OFF, states

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)

WEBHOOK_DISPATCH = "webhook-dispatch"
SHARED = "shared"  # every process takes part (webhook deliveries are rows claimed under a lease)

JobState = Literal["leader", "standby", "shared", "off"]


class Health(BaseModel):
    """Liveness, with what this process does in the background."""

    status: Literal["ok"]
    pid: int = Field(description="This process's id: behind one port several processes answer (`fulfil serve --workers N`).")
    jobs: dict[str, JobState] = Field(
        description="Each background job in this process: `leader` (this process runs it for the cluster), `standby` (another "
        "process does; this one takes over if it stops), `shared` (every process takes part), `off` (its interval is 0).",
    )


def job_states(state: object) -> dict[str, str]:
    """Each background job's state in the process of an app's state (its lifespan's jobs and the webhook dispatch)."""
    jobs = states(getattr(state, "jobs", {}))
    jobs[WEBHOOK_DISPATCH] = SHARED if getattr(state, "webhook_dispatch", False) else OFF
    return jobs


@router.get("/healthz", response_model=Health)
def healthz(request: Request) -> Health:
    """Liveness: the process answers; which background jobs it leads."""
    return Health(status="ok", pid=os.getpid(), jobs=job_states(request.app.state))  # type: ignore[arg-type]


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

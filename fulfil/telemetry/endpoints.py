"""GET /metrics: the Prometheus text exposition, for an ops token (docs/operations.md, "Metrics"); under `fulfil serve
--workers N`, of every worker whichever answers (fulfil.telemetry.multiprocess)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

from fulfil.auth.service import Principal
from fulfil.deps import require_detached
from fulfil.health import job_states
from fulfil.models import Role
from fulfil.telemetry.collector import ServiceCollector
from fulfil.telemetry.metrics import REGISTRY, SHARED_DIRECTORY, publish_leadership

router = APIRouter(tags=["operations"])


class _Both(CollectorRegistry):
    """The process's metrics (or, under `fulfil serve --workers N`, every worker's from their shared files) and this
    application's scrape-time ones, in one exposition."""

    def __init__(self, process: Collector, service: ServiceCollector, before: Callable[[], None] | None = None) -> None:
        super().__init__(auto_describe=False)
        self.process = process
        self.service = service
        self.before = before

    def collect(self):  # type: ignore[no-untyped-def]
        if self.before is not None:
            self.before()
        yield from self.process.collect()
        yield from self.service.collect()


def registry_for(request: Request) -> CollectorRegistry:
    state = request.app.state
    if getattr(state, "metrics_registry", None) is None:
        def jobs() -> dict[str, str]:
            return job_states(state)

        if SHARED_DIRECTORY is None:  # one process: its registry, and its jobs' leads as they are now
            state.metrics_registry = _Both(REGISTRY, ServiceCollector(state.session_factory, state.ingest, jobs))
        else:
            # The workers' files add up; fulfil_job_leader is among them (each worker writes its part at every poll,
            # this one refreshes its own first), so the scrape-time collector leaves it out.
            state.metrics_registry = _Both(
                MultiProcessCollector(None, path=SHARED_DIRECTORY),  # type: ignore[no-untyped-call]
                ServiceCollector(state.session_factory, state.ingest),
                before=lambda: publish_leadership(jobs()),
            )
    return state.metrics_registry  # type: ignore[no-any-return]


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
                     "description": "The Prometheus text exposition format."}},
)
def metrics(request: Request, _principal: Annotated[Principal, Depends(require_detached(Role.OPS))]) -> Response:
    """Metrics for Prometheus: HTTP requests and latency per route, routing latency and the last batch run, ingest
    reads and rejections, the broker connection, webhook deliveries, holds, parcel verdicts (an ops token)."""
    return Response(generate_latest(registry_for(request)), media_type=CONTENT_TYPE_LATEST)

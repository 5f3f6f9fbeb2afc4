"""GET /metrics: the Prometheus text exposition, for an ops token (docs/operations.md, "Metrics")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from fulfil.auth.service import Principal
from fulfil.deps import require_detached
from fulfil.health import job_states
from fulfil.models import Role
from fulfil.telemetry.collector import ServiceCollector
from fulfil.telemetry.metrics import REGISTRY

router = APIRouter(tags=["operations"])


class _Both(CollectorRegistry):
    """The process's metrics and this application's scrape-time ones, in one exposition."""

    def __init__(self, service: ServiceCollector) -> None:
        super().__init__(auto_describe=False)
        self.service = service

    def collect(self):  # type: ignore[no-untyped-def]
        yield from REGISTRY.collect()
        yield from self.service.collect()


def registry_for(request: Request) -> CollectorRegistry:
    state = request.app.state
    if getattr(state, "metrics_registry", None) is None:
        state.metrics_registry = _Both(ServiceCollector(state.session_factory, state.ingest, lambda: job_states(state)))
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

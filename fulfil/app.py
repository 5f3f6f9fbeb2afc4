"""create_app(): the FastAPI application with its routers, error rendering and lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from fulfil import __version__
from fulfil.allow import allowed_methods
from fulfil.api_docs import add_api_docs
from fulfil.auth.endpoints import router as auth_router
from fulfil.availability.endpoints import router as availability_router
from fulfil.catalog.endpoints import router as products_router
from fulfil.config import Settings, get_settings
from fulfil.db import engine_for, make_session_factory
from fulfil.edge import RequestEdge
from fulfil.errors import FulfilError
from fulfil.health import router as health_router
from fulfil.holds.endpoints import router as holds_router
from fulfil.holds.scheduler import NAME as HOLD_JOB, HoldSweeper
from fulfil.ingest.config import load_config
from fulfil.ingest.endpoints import router as ingest_router
from fulfil.ingest.runtime import IngestRuntime
from fulfil.leadership import for_engine as leadership_for
from fulfil.live import notify as live_notify
from fulfil.live.endpoints import router as live_router
from fulfil.locations.endpoints import router as locations_router
from fulfil.locations.index import LocationIndex
from fulfil.openapi import install as install_openapi
from fulfil.periodic import Periodic
from fulfil.pages.ops import OPS_DIR, STATIC_URL as OPS_STATIC_URL, router as ops_pages_router
from fulfil.pages.pickups import router as store_pickups_router
from fulfil.pages.returns import router as store_returns_router
from fulfil.pages.work import router as store_work_router
from fulfil.pages.store import STATIC_URL as STORE_STATIC_URL, STORE_DIR, router as store_pages_router
from fulfil.ops.endpoints import router as ops_router
from fulfil.orders.endpoints import router as orders_router
from fulfil.returns.endpoints import router as returns_router
from fulfil.pickups.endpoints import router as pickups_router
from fulfil.pickups.guard import FailedAttempts
from fulfil.pickups.scheduler import NAME as PICKUP_JOB, PickupSweeper
from fulfil.promise.endpoints import router as promise_router
from fulfil.routing_runs.endpoints import router as routing_router
from fulfil.routing_runs.scheduler import NAME as BATCH_JOB, BatchScheduler
from fulfil.shipments.endpoints import pick_lists_router, router as shipments_router
from fulfil.staff.endpoints import staff_router, store_router
from fulfil.stock.endpoints import router as stock_router
from fulfil.tags.endpoints import router as tags_router
from fulfil.tasks.endpoints import router as tasks_router
from fulfil.feeds.endpoints import router as feeds_router
from fulfil.tracking.endpoints import router as tracking_router
from fulfil.telemetry import context as request_ids
from fulfil.telemetry.endpoints import router as metrics_router
from fulfil.telemetry.middleware import RequestTelemetry
from fulfil.webhooks.dispatcher import start_in_serve as start_webhook_dispatch
from fulfil.webhooks.endpoints import router as webhooks_router

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}


def _error(status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"code": code, "message": message, "details": details}
    if (rid := request_ids.current()) is not None:
        body["request_id"] = rid
    return JSONResponse(status_code=status, content={"error": body}, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


async def _on_domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FulfilError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else exc.headers
    return _error(exc.status_code, exc.code, exc.message, exc.details, headers)


# A path id outside the range ids can take names no record: 404, as for any id that does not exist.
_OUT_OF_RANGE = frozenset({"greater_than_equal", "less_than_equal", "greater_than", "less_than"})


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if errors and all(e["loc"][0] == "path" and e["type"] in _OUT_OF_RANGE for e in errors):
        names = ", ".join(f"{e['loc'][-1]} {e.get('input')}" for e in errors)
        return _error(404, "not_found", f"not found: no record has {names}", {"path": [_field_path(e["loc"]) for e in errors]})
    details = [{"field": _field_path(e["loc"]), "message": e["msg"], "type": e["type"]} for e in errors]
    fields = ", ".join(d["field"] for d in details[:5])
    return _error(422, "invalid", f"invalid request: {fields}", details)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, RecursionError):  # the JSON parser gave up on a body nested too deep to read
        details = [{"field": "body", "message": "JSON nested too deeply to read", "type": "json_too_deep"}]
        return _error(422, "invalid", "invalid request: body nested too deeply", details)
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request.app.router.routes, request.scope))}
    return _error(exc.status_code, HTTP_CODES.get(exc.status_code, "http_error"), str(exc.detail), None, headers)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Starlette runs this outside every middleware: the request's id comes back from its state for the log and body.
    rid = getattr(request.state, request_ids.STATE_KEY, None)
    token = request_ids.request_id.set(rid)
    try:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(500, "internal", "internal error; it has been logged", headers={request_ids.REQUEST_ID_HEADER: rid} if rid else None)
    finally:
        request_ids.request_id.reset(token)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the application. Tests pass their own engine; `fulfil serve` lets it be made from settings."""
    settings = settings or get_settings()
    owns_engine = engine is None
    engine = engine or engine_for(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.ingest is not None:
            app.state.ingest.start()
        factory = app.state.session_factory
        # The singleton jobs run in the one process that leads each (fulfil.leadership); the others stand by.
        wanted = {
            BATCH_JOB: settings.routing_batch_interval_seconds > 0, PICKUP_JOB: settings.pickup_sweep_interval_seconds > 0,
            HOLD_JOB: settings.hold_sweep_interval_seconds > 0,
        }
        leadership = leadership_for(engine) if any(wanted.values()) else None
        jobs: dict[str, Periodic | None] = {
            BATCH_JOB: BatchScheduler(factory, settings, leadership) if wanted[BATCH_JOB] else None,
            PICKUP_JOB: PickupSweeper(factory, settings, leadership) if wanted[PICKUP_JOB] else None,
            HOLD_JOB: HoldSweeper(factory, settings, leadership) if wanted[HOLD_JOB] else None,
        }
        for job in jobs.values():
            if job is not None:
                job.start()
        app.state.jobs = jobs
        # Live streams are woken by PostgreSQL NOTIFY from any process (fulfil.live.notify); SQLite streams poll.
        notifier = live_notify.for_engine(engine)
        if notifier is not None:
            notifier.start()
        app.state.live_notifier = notifier
        # Webhook deliveries are rows claimed under a lease: every process dispatches (fulfil.webhooks.dispatcher).
        webhooks = start_webhook_dispatch(factory, settings)
        app.state.webhook_dispatch = webhooks is not None
        try:
            yield
        finally:
            if webhooks is not None:
                webhooks.stop()
            for job in reversed(list(jobs.values())):
                if job is not None:
                    job.stop()
            if leadership is not None:
                leadership.close()  # the leads go to another process at its next poll
            if notifier is not None:
                app.state.live_notifier = None
                notifier.stop()
            if app.state.ingest is not None:
                app.state.ingest.stop()
            if owns_engine:
                engine.dispose()

    app = FastAPI(
        title=settings.api_title,
        version=__version__,
        description="Ship-from-store fulfilment and RFID service. Every route but /healthz, /readyz, the customer's curbside "
        "check-in (POST /api/v1/pickups/{code}/checkin, guarded by the pickup code) and order tracking (GET /api/v1/track/{code}, "
        "guarded by the tracking token or pickup code) needs a bearer token.",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc: add_api_docs, with vendored assets (no CDN)
        redoc_url=None,
    )
    install_openapi(app)
    add_api_docs(app)
    app.state.settings = settings
    app.state.stopping = False  # set when the server begins to stop: live streams end so it can (fulfil.live)
    app.state.jobs = {}  # the background jobs of this process, by name, once started (fulfil.periodic.states)
    app.state.live_notifier = None  # fulfil.live.notify, on PostgreSQL once started
    app.state.webhook_dispatch = False
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.location_index = LocationIndex()
    app.state.pickup_guard = FailedAttempts(settings.pickup_checkin_max_failures, settings.pickup_checkin_window_seconds)
    app.state.tracking_guard = FailedAttempts(settings.tracking_max_failures, settings.tracking_window_seconds)
    app.state.ingest = (
        IngestRuntime(load_config(settings.readers_config), app.state.session_factory, settings.mqtt_url) if settings.readers_config else None
    )

    app.add_middleware(RequestEdge, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RequestTelemetry)  # outermost: the edge's refusals are counted and carry the request id
    app.add_exception_handler(FulfilError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)

    app.include_router(health_router)
    app.include_router(metrics_router)
    for router in (auth_router, locations_router, products_router, stock_router, orders_router, shipments_router, routing_router, ingest_router, live_router, tags_router, tasks_router, returns_router, pickups_router,
                   availability_router, promise_router, holds_router, webhooks_router):
        app.include_router(router, prefix=API_PREFIX)
    for router in (feeds_router, tracking_router, staff_router, store_router, pick_lists_router, ops_router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(store_pages_router)
    app.include_router(store_work_router)
    app.include_router(store_pickups_router)
    app.include_router(store_returns_router)
    app.mount(STORE_STATIC_URL, StaticFiles(directory=STORE_DIR / "static"), name="store-static")
    app.include_router(ops_pages_router)
    app.mount(OPS_STATIC_URL, StaticFiles(directory=OPS_DIR / "static"), name="ops-static")
    return app

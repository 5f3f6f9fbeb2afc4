"""Every request's id, metrics and log line (outermost ASGI middleware, so refusals at the edge are counted too).

The id is the client's or proxy's `X-Request-ID` when it is plain and 8-64 characters long, else a new one; it is
sent back in `X-Request-ID`, carried by every log line written while the request is served and by error bodies
(`error.request_id`), so a complaint with the id finds its log lines. The route label is the route's template
(`/api/v1/orders/{order_id}`), never the raw path, so the metric's label set stays bounded; a path no route
serves is `unmatched`, static files `static`.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fulfil.telemetry import context
from fulfil.telemetry.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = logging.getLogger("fulfil.access")
_HEADER = context.REQUEST_ID_HEADER.lower().encode()


def route_label(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        # An included router's route knows its path without the prefix it was included under: the prefix is what
        # the request's path has before the route's own path, rendered with this request's parameters.
        try:
            rendered = str(getattr(route, "path_format", path)).format(**scope.get("path_params", {}))
        except (KeyError, IndexError, ValueError):
            return path
        full = scope.get("path", "")
        return full[: len(full) - len(rendered)] + path if full.endswith(rendered) else path
    if scope.get("path", "").startswith("/store/static/"):
        return "static"
    return "unmatched"


class RequestTelemetry:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == _HEADER), None)
        rid = context.accept_or_make(sent)
        token = context.request_id.set(rid)
        scope.setdefault("state", {})[context.STATE_KEY] = rid  # for the 500 handler, which runs outside this middleware
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (_HEADER, rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route, method = route_label(scope), scope.get("method", "")
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_LATENCY.labels(method, route).observe(elapsed)
            log.info("%s %s %s %.1f ms", method, scope.get("path", ""), status, elapsed * 1000,
                     extra={"method": method, "path": scope.get("path", ""), "route": route, "status": status, "duration_ms": round(elapsed * 1000, 2)})
            context.request_id.reset(token)

"""The request edge: what is refused before the service reads a byte of a request body.

1. Every `/api/` request (and `/metrics`) is authenticated first (401 without reading the body); the principal is handed to the
   route, which does not look the token up again. The exceptions are the customer's curbside check-in, order
   tracking and the store app's sign-in (PUBLIC_API), which the code, token or staff PIN and a limit of failed
   attempts guard instead of a bearer token.
2. A NUL character in the path (404) or the query string (422) is refused: PostgreSQL cannot hold one.
3. Bodies are capped while they stream: a declared Content-Length over the cap is 413 at once, and a body that
   streams past it (chunked, or lying about its length) is cut off with 413 as soon as the cap is crossed.

So a large body costs the server at most the cap in memory, and nothing at all without a valid token.

The store app's pages call the API with their session cookie instead of a bearer token (SESSION_COOKIE: HttpOnly,
SameSite=Strict, set by fulfil.pages.store at sign-in). A cookie is only taken from this site: a state-changing
request (anything but GET and HEAD) must carry an Origin naming this host, else 403 `cross_site` (a browser always
sends Origin with a script's POST; SameSite=Strict already keeps the cookie off other sites' requests).
"""

from __future__ import annotations

import logging
import re

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fulfil.auth.service import Principal, authenticate
from fulfil.db import unit_of_work
from fulfil.errors import FulfilError, Forbidden, InvalidInput, NotFound, PayloadTooLarge, Unauthenticated

log = logging.getLogger(__name__)

PROTECTED_PREFIX = "/api/"
SESSION_COOKIE = "fulfil_session"
SAFE_METHODS = frozenset({"GET", "HEAD"})
PRINCIPAL_KEY = "principal"  # request.state.principal
PROTECTED_PATHS = frozenset({"/metrics"})  # outside /api/, authenticated all the same (fulfil.telemetry)
# Paths under /api/ that take no token (exact shapes; any method: the router answers 405 for the ones a path does
# not serve). The body cap still applies to them.
PUBLIC_API: tuple[re.Pattern[str], ...] = (
    re.compile(r"/api/v1/pickups/[^/]+/checkin"),
    re.compile(r"/api/v1/track/[^/]+"),  # customer tracking: the tracking token or pickup code is the key
    re.compile(r"/api/v1/store/sign-in"),  # the store app's sign-in: the staff PIN, with a lockout (fulfil.staff)
)


def _public(scope: Scope) -> bool:
    """Whether the request is for one of the public paths under /api/."""
    return any(path.fullmatch(scope["path"]) for path in PUBLIC_API)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                return credentials.strip()
            return None
    return None


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            text: str = value.decode("latin-1")
            return text
    return None


def session_cookie(scope: Scope) -> str | None:
    """The store app's session cookie, if the request carries one."""
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        name, _, value = part.strip().partition("=")
        if name == SESSION_COOKIE and value:
            return value
    return None


def same_origin(scope: Scope) -> bool:
    """Whether a request may act on a cookie: a read, or a write whose Origin is this very host."""
    if scope.get("method", "GET") in SAFE_METHODS:
        return True
    origin, host = _header(scope, b"origin"), _header(scope, b"host")
    if not origin or not host:
        return False
    return origin.split("://", 1)[-1].rstrip("/") == host


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _nul_character(scope: Scope) -> FulfilError | None:
    """A NUL character in the path names no record (404); in the query string it is no valid parameter (422).
    PostgreSQL cannot even compare text holding one, so it is refused before any route runs."""
    if "\x00" in scope["path"]:
        return NotFound("not found: a path cannot contain a NUL character", details={"path": scope["path"].replace("\x00", "\\x00")})
    if b"%00" in scope.get("query_string", b"").lower():
        return InvalidInput(
            "invalid request: a query parameter contains a NUL character",
            details=[{"field": "query", "message": "may not contain a NUL character", "type": "nul_character"}],
        )
    return None


class RequestEdge:
    """ASGI middleware: authenticate `/api/` requests and cap request bodies, both before the body is read."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(scope, receive, send, self._too_large())
            return
        nul = _nul_character(scope)
        if nul is not None:
            await self._refuse(scope, receive, send, nul)
            return
        if (scope["path"].startswith(PROTECTED_PREFIX) or scope["path"] in PROTECTED_PATHS) and not _public(scope):
            try:
                principal = await self._authenticate(scope)
            except FulfilError as exc:
                await self._refuse(scope, receive, send, exc)
                return
            scope.setdefault("state", {})[PRINCIPAL_KEY] = principal
        await self.app(scope, self._capped(receive), send)

    async def _authenticate(self, scope: Scope) -> Principal:
        secret = _bearer(scope)
        if secret is None:
            secret = session_cookie(scope)
            if secret is None:
                raise Unauthenticated("missing bearer token: send 'Authorization: Bearer <token>'")
            if not same_origin(scope):
                raise Forbidden("a request from another site cannot use the store app's session", code="cross_site")
        factory = scope["app"].state.session_factory

        def look_up() -> Principal:
            with unit_of_work(factory) as session:
                return authenticate(session, secret)

        return await run_in_threadpool(look_up)

    def _capped(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body_bytes

        async def capped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Raised inside the route's body read: rendered by the service's error handler as 413.
                    raise HTTPException(413, f"request body larger than {limit} bytes")
            return message

        return capped

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"request body larger than {self.max_body_bytes} bytes", details={"max_bytes": self.max_body_bytes})

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, exc: FulfilError) -> None:
        # The body is left unread: the client must not reuse the connection for another request.
        headers: dict[str, str] = {"Connection": "close"}
        if exc.status_code == 401:
            headers["WWW-Authenticate"] = "Bearer"
        log.info("refused %s %s before reading its body: %s %s", scope.get("method"), scope.get("path"), exc.status_code, exc.message)
        response = JSONResponse(status_code=exc.status_code, content=exc.to_dict(), headers=headers)
        await response(scope, receive, send)

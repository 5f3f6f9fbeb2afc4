"""Request-edge dependencies: the per-request transaction (committed before the response leaves) and the caller's identity."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from fulfil.auth.service import Principal, authenticate
from fulfil.db import unit_of_work
from fulfil.edge import PRINCIPAL_KEY
from fulfil.errors import Forbidden, Unauthenticated
from fulfil.locations.index import LocationIndex
from fulfil.models import Role


class CommittingRoute(APIRoute):
    """A route whose request owns one session: committed when the handler succeeds, before the response
    is sent (so a failed commit is a 5xx, never a 200 for lost work), rolled back otherwise."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            session: Session = request.app.state.session_factory()
            request.state.session = session
            try:
                response = await handler(request)
            except BaseException:
                await run_in_threadpool(_end, session, False)
                raise
            # Commit (or roll back) and close in one trip to the thread pool: each trip is a thread switch per request.
            await run_in_threadpool(_end, session, response.status_code < 400)
            return response

        return route


def _end(session: Session, commit: bool) -> None:
    """Commit or roll back the request's session, then close it (closed even when the commit fails)."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


def get_session(request: Request) -> Session:
    """The request's session (opened by CommittingRoute)."""
    session: Session = request.state.session
    return session


SessionDep = Annotated[Session, Depends(get_session)]


def get_location_index(request: Request) -> LocationIndex:
    """The process's copy of the active locations (fulfil.locations.index), exact for the request that uses it."""
    index: LocationIndex = request.app.state.location_index
    return index


LocationIndexDep = Annotated[LocationIndex, Depends(get_location_index)]

_bearer = HTTPBearer(auto_error=False, description="A token from `fulfil token create`.")


def get_principal(
    request: Request, session: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The caller: authenticated by the request edge before the body was read (fulfil.edge), or here."""
    principal: Principal | None = getattr(request.state, PRINCIPAL_KEY, None)
    if principal is not None:
        return principal
    if credentials is None or not credentials.credentials:
        raise Unauthenticated("missing bearer token: send 'Authorization: Bearer <token>'")
    return authenticate(session, credentials.credentials)


def _admit(principal: Principal, allowed: frozenset[Role]) -> Principal:
    """The principal, if its role is allowed; Forbidden naming the roles that are."""
    if principal.role not in allowed:
        raise Forbidden(
            f"a {principal.role.value} token may not do this",
            details={"role": principal.role.value, "allowed": sorted(r.value for r in allowed)},
        )
    return principal


def _scopes(allowed: frozenset[Role]) -> list[str]:
    return sorted(r.value for r in allowed)


def _gate(dependency: Callable[..., Principal], parameter: str, annotation: Any) -> None:
    """Give a role gate's token parameter its Security(scopes=roles) annotation. The roles are known only when the
    gate is made, so the annotation is set as an object (a string annotation would be looked up among module
    globals). The scopes put the roles on the operation's bearer requirement in the OpenAPI document, which
    documents 403 from them (fulfil.openapi)."""
    dependency.__annotations__[parameter] = annotation


def require(*roles: Role) -> Callable[..., Principal]:
    """A dependency that admits only the given roles."""

    allowed = frozenset(roles)

    def dependency(principal: Principal) -> Principal:
        return _admit(principal, allowed)

    _gate(dependency, "principal", Annotated[Principal, Security(get_principal, scopes=_scopes(allowed))])
    return dependency


def check_location(principal: Principal, location_id: str | None) -> None:
    """Refuse a scoped token (picker, device) access to any location but its own."""
    if principal.location_id is not None and location_id != principal.location_id:
        raise Forbidden(
            f"this token is scoped to {principal.location_id}",
            details={"token_location": principal.location_id, "requested_location": location_id},
        )


def require_detached(*roles: Role) -> Callable[..., Principal]:
    """Like require(), for routes that must not hold a request transaction (their work commits on its own):
    the token is checked in a short transaction of its own."""

    allowed = frozenset(roles)

    def dependency(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
        principal: Principal | None = getattr(request.state, PRINCIPAL_KEY, None)
        if principal is None:
            with unit_of_work(request.app.state.session_factory) as session:
                principal = get_principal(request, session, credentials)
        return _admit(principal, allowed)

    _gate(dependency, "credentials", Annotated[HTTPAuthorizationCredentials | None, Security(_bearer, scopes=_scopes(allowed))])
    return dependency


OpsOnly = Annotated[Principal, Depends(require(Role.OPS))]
OpsOrPicker = Annotated[Principal, Depends(require(Role.OPS, Role.PICKER))]
PickerOnly = Annotated[Principal, Depends(require(Role.PICKER))]
Device = Annotated[Principal, Depends(require(Role.DEVICE, Role.OPS))]
OrderTaker = Annotated[Principal, Depends(require(Role.OPS, Role.PICKER, Role.CHANNEL))]
OpsOrChannel = Annotated[Principal, Depends(require(Role.OPS, Role.CHANNEL))]

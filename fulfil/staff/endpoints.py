"""/api/v1/staff (ops) and /api/v1/store/sign-in, /api/v1/store/sign-out (the store app)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from fulfil.api_types import Offset, RecordId
from fulfil.auth.service import revoke_token
from fulfil.deps import CommittingRoute, OpsOnly, PickerOnly, SessionDep
from fulfil.errors import Unauthenticated
from fulfil.models.base import utcnow
from fulfil.openapi import errors
from fulfil.staff import repository, service
from fulfil.staff.schemas import SignIn, StaffCreate, StaffRead, StaffSession, StaffUpdate

staff_router = APIRouter(prefix="/staff", tags=["store app"], route_class=CommittingRoute)
store_router = APIRouter(prefix="/store", tags=["store app"], route_class=CommittingRoute)


@staff_router.get("", response_model=list[StaffRead])
def list_staff(
    session: SessionDep, _: OpsOnly, location_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Offset = 0,
) -> list[StaffRead]:
    """Staff of one store, or of all (never their PINs)."""
    return [StaffRead.model_validate(m) for m in repository.list_(session, location_id=location_id, limit=limit, offset=offset)]


@staff_router.post("", response_model=StaffRead, status_code=status.HTTP_201_CREATED, responses=errors(404, 409))
def create_staff(data: StaffCreate, session: SessionDep, _: OpsOnly) -> StaffRead:
    """Add a member of a store's staff with their PIN (6 to 8 digits, unique within the store: 409 `pin_taken`)."""
    return StaffRead.model_validate(service.create(session, data))


@staff_router.patch("/{staff_id}", response_model=StaffRead, responses=errors(404, 409))
def update_staff(staff_id: RecordId, data: StaffUpdate, session: SessionDep, _: OpsOnly) -> StaffRead:
    """Rename, set a new PIN, or deactivate (`active: false`); a new PIN or a deactivation signs them out everywhere."""
    return StaffRead.model_validate(service.update(session, staff_id, data, utcnow()))


@store_router.post(
    "/sign-in", response_model=StaffSession,
    responses={401: {"description": "Wrong PIN for this store (counted towards the lockout)."}, **errors(429)},
)
def sign_in(data: SignIn, request: Request, session: SessionDep) -> StaffSession:
    """The store app's sign-in (no token): the store and a staff PIN give a picker session for that store, which
    ends after `FULFIL_STAFF_SESSION_HOURS` and is signed out after `FULFIL_STAFF_IDLE_MINUTES` unused. A wrong PIN
    is 401 and counted; too many from a device (or at the store) lock sign-in there for a while (429, Retry-After),
    even with the right PIN."""
    settings = request.app.state.settings
    address = request.client.host if request.client else "unknown"
    now = utcnow()
    try:
        return service.sign_in_or_count(session, data, address, settings, now)
    except service.WrongPin:
        raise Unauthenticated("wrong PIN for this store", code="wrong_pin") from None


@store_router.post("/sign-out", status_code=status.HTTP_204_NO_CONTENT)
def sign_out(session: SessionDep, principal: PickerOnly) -> None:
    """End this session now (the token is revoked)."""
    revoke_token(session, principal.token_id)

"""/api/v1/holds"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from fulfil.deps import CommittingRoute, OpsOrChannel, SessionDep
from fulfil.holds import service
from fulfil.models.base import utcnow
from fulfil.openapi import errors
from fulfil.promise.schemas import HoldRead

router = APIRouter(prefix="/holds", tags=["channels"], route_class=CommittingRoute)

HoldId = Annotated[str, Path(min_length=1, max_length=64, description="A hold's id (hold_...), as POST /promise returned it.")]


@router.get("/{hold_id}", response_model=HoldRead, responses=errors(404))
def get_hold(hold_id: HoldId, session: SessionDep, principal: OpsOrChannel) -> HoldRead:
    """One of the caller's holds: its units, when it expires, and whether an order used it."""
    return service.read(service.get(session, hold_id, principal))


@router.delete("/{hold_id}", response_model=HoldRead, responses=errors(404, 409))
def release_hold(hold_id: HoldId, session: SessionDep, principal: OpsOrChannel) -> HoldRead:
    """Give a hold up (the customer left checkout): its units are available again at once. Releasing an ended hold
    changes nothing; a hold an order used is 409 `hold_consumed`."""
    return service.read(service.release(session, hold_id, principal, utcnow()))

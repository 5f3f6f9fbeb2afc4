"""/api/v1/returns"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from fulfil.api_types import Offset, OptionalRecordId, RecordId
from fulfil.deps import CommittingRoute, OpsOrPicker, SessionDep, check_location
from fulfil.openapi import errors
from fulfil.returns import repository, service
from fulfil.returns.schemas import ReturnCreate, ReturnRead

router = APIRouter(prefix="/returns", tags=["returns"], route_class=CommittingRoute)


@router.post(
    "",
    response_model=ReturnRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": ReturnRead, "description": "The same return was posted before: the original is returned, nothing changes."},
        **errors(404, 409),
    },
)
def receive_return(data: ReturnCreate, session: SessionDep, principal: OpsOrPicker, response: Response) -> ReturnRead:
    """Take in a customer's return where the items are (a picker: at its store; ops: any store or warehouse):
    resellable units are in that location's stock at once, damaged ones in quarantine; the refund due is stated.
    All or nothing: 409 lists every item that cannot come back; an EPC never sold or shipped is also flagged."""
    received = service.take_in(session, data, principal)
    if not received.created:
        response.status_code = status.HTTP_200_OK
    return service.read(session, [received.return_])[0]


@router.get("", response_model=list[ReturnRead])
def list_returns(
    session: SessionDep,
    principal: OpsOrPicker,
    order_id: OptionalRecordId = None,
    location_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[ReturnRead]:
    """Returns, newest first, by order and/or by the location they came back to (a picker: its own store's)."""
    if principal.location_id is not None:
        location_id = location_id or principal.location_id
        check_location(principal, location_id)
    rows = repository.list_(session, order_id=order_id, location_id=location_id, limit=limit, offset=offset)
    return service.read(session, list(rows))


@router.get("/{return_id}", response_model=ReturnRead)
def get_return(return_id: RecordId, session: SessionDep, principal: OpsOrPicker) -> ReturnRead:
    """One return with its lines and the refund due (a picker: returns taken at its store)."""
    return service.read(session, [service.get(session, return_id, principal)])[0]

"""/api/v1/stores/{id}/tasks"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from fulfil.api_types import LocationIdPath, RecordId
from fulfil.deps import CommittingRoute, OpsOrPicker, SessionDep, check_location
from fulfil.errors import NotFound
from fulfil.models import Location, TaskKind
from fulfil.openapi import errors
from fulfil.tasks import service
from fulfil.tasks.schemas import StoredTaskRead, TaskDone, TaskRead

router = APIRouter(prefix="/stores", tags=["tasks"], route_class=CommittingRoute)


@router.get("/{location_id}/tasks", response_model=list[TaskRead])
def list_tasks(
    location_id: LocationIdPath, request: Request, session: SessionDep, principal: OpsOrPicker,
    kind: Annotated[list[TaskKind] | None, Query(description="Only these kinds (repeat the parameter).")] = None,
) -> list[TaskRead]:
    """The store's open tasks, most urgent first (`due`): customers waiting at the curb (due when they arrived),
    picks (a pickup from the store's shelves when its promised ready time comes, anything leaving the store at its
    dispatch day's cut-off), ship-to-store parcels to receive and stage, then put backs and cycle counts. The location's live stream says when they change (`event: task`, `shipment`,
    `pickup`)."""
    check_location(principal, location_id)
    if session.get(Location, location_id) is None:
        raise NotFound(f"location {location_id} not found", details={"location_id": location_id})
    return [TaskRead.model_validate(t) for t in service.queue(session, location_id, request.app.state.settings, kinds=set(kind) if kind else None)]


@router.post("/{location_id}/tasks/{task_id}/done", response_model=StoredTaskRead, responses=errors(409))
def complete_task(
    location_id: LocationIdPath, task_id: RecordId, session: SessionDep, principal: OpsOrPicker, data: TaskDone | None = None,
) -> StoredTaskRead:
    """Confirm a put back (its units are released: on the shelf, available again) or a cycle count, with what was
    counted (`counted`: on-hand becomes it, by the store's own staff). Confirming it again changes nothing; `counted`
    on a put back is 422."""
    return StoredTaskRead.model_validate(service.complete(session, location_id, task_id, principal, counted=data.counted if data else None))

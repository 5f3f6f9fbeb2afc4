"""/api/v1/locations"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from fulfil.api_types import LocationIdPath, Offset
from fulfil.deps import CommittingRoute, OpsOnly, OpsOrPicker, SessionDep, check_location
from fulfil.locations import repository, service
from fulfil.locations.schemas import LocationCreate, LocationRead, LocationUpdate
from fulfil.models import LocationKind
from fulfil.openapi import errors

router = APIRouter(prefix="/locations", tags=["locations"], route_class=CommittingRoute)


@router.get("", response_model=list[LocationRead])
def list_locations(
    session: SessionDep,
    principal: OpsOrPicker,
    kind: LocationKind | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[LocationRead]:
    """Warehouses and stores (a picker sees only its own store)."""
    rows = repository.list_(session, kind=kind, only_id=principal.location_id, limit=limit, offset=offset)
    return [LocationRead.model_validate(r) for r in rows]


@router.post("", response_model=LocationRead, status_code=status.HTTP_201_CREATED, responses=errors(409))
def create_location(data: LocationCreate, session: SessionDep, _: OpsOnly) -> LocationRead:
    """Add a warehouse or store."""
    return LocationRead.model_validate(service.create(session, data))


@router.get("/{location_id}", response_model=LocationRead)
def get_location(location_id: LocationIdPath, session: SessionDep, principal: OpsOrPicker) -> LocationRead:
    """One location."""
    check_location(principal, location_id)
    return LocationRead.model_validate(service.get(session, location_id))


@router.patch("/{location_id}", response_model=LocationRead)
def update_location(location_id: LocationIdPath, data: LocationUpdate, session: SessionDep, _: OpsOnly) -> LocationRead:
    """Change a location's coordinates, capacity, costs, opening hours or status."""
    return LocationRead.model_validate(service.update(session, location_id, data))

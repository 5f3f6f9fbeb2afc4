"""Location workflows."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fulfil.errors import Conflict, NotFound
from fulfil.locations import repository
from fulfil.locations.schemas import LocationCreate, LocationUpdate
from fulfil.models import Location


def create(session: Session, data: LocationCreate) -> Location:
    """Add a warehouse or store; its id must be new."""
    if repository.get(session, data.id) is not None:
        raise Conflict(f"location {data.id} already exists", details={"id": data.id}, code="already_exists")
    location = Location(**data.model_dump())
    session.add(location)
    session.flush()
    return location


def get(session: Session, location_id: str) -> Location:
    """One location, or NotFound."""
    location = repository.get(session, location_id)
    if location is None:
        raise NotFound(f"location {location_id} not found", details={"location_id": location_id})
    return location


def update(session: Session, location_id: str, data: LocationUpdate) -> Location:
    """Change the fields given (kind and id never change)."""
    location = get(session, location_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(location, field, value)
    session.flush()
    return location

"""A cheap fingerprint of what the ops console shows, for its live updates: it changes whenever a routing decision
is made, something is journalled about an order or a shipment (picked, shipped, held, released…), or a location
changes (paused, resumed). Two maxima of primary keys and one of the small locations table."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fulfil.models import DomainEvent, Location, RoutingDecision


def version(session: Session) -> str:
    """The console's version now: equal strings, nothing it shows has changed."""
    decision, event, place = session.execute(select(
        select(func.max(RoutingDecision.id)).scalar_subquery(), select(func.max(DomainEvent.id)).scalar_subquery(),
        select(func.max(Location.updated_at)).scalar_subquery(),
    )).one()
    return f"{decision or 0}.{event or 0}.{place or '-'}"

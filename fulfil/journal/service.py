"""Recording business events (DomainEvent rows) in the transaction of the change they describe, so an event exists
exactly when its change was committed: a retried request that changes nothing records nothing.

Kinds, by family (the family is the live stream's event name):
- `shipment.<status>`: a shipment entered a status (assigned, picking, ..., ready_for_pickup, collected, cancelled);
  recorded at the serving location and, for click and collect, at the pickup store;
- `order.<status>`: an order's status changed (routed, ready_for_pickup, collected, shipped, cancelled, ...);
  recorded at the pickup store (click and collect) or the store that took it, and without a location;
- `order.cancellation` (what was cancelled and why, whole or some units), `order.items_refused` (at a handover);
- `shipment.short_picked` (units split off a shipment, with the reason);
- `pickup.ready`, `pickup.reminder`, `pickup.expired`, `pickup.collected` (the customer's copy carries the pickup
  code, the store's never does), `pickup.checked_in` (a customer at the curb);
- `task.opened`, `task.done` (put backs, cycle counts);
- `return.received` (items and the refund due), `return.refused_item` (an EPC never sold or shipped brought back).

Some kinds are also webhooks (fulfil.webhooks.payloads.JOURNAL): record() adds their outbox event to the same session,
once per call (not per location copy), so the webhook is committed exactly when its change is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session, object_session

from fulfil.models import DomainEvent, Order, Shipment
from fulfil.webhooks import outbox


def record(
    session: Session, kind: str, *, locations: Iterable[str | None] = (None,), order_id: int | None = None,
    shipment_id: int | None = None, **data: Any,
) -> list[DomainEvent]:
    """One event per concerned location (None: no location, e.g. for customer notifications only)."""
    rows = []
    for location_id in dict.fromkeys(locations):  # each location once, in order
        row = DomainEvent(kind=kind, location_id=location_id, order_id=order_id, shipment_id=shipment_id, data=data)
        session.add(row)
        rows.append(row)
    outbox.from_journal(session, kind, locations=[row.location_id for row in rows], order_id=order_id, shipment_id=shipment_id, data=data)
    return rows


def shipment_entered(shipment: Shipment, previous: Any, reason: str | None = None) -> None:
    """A shipment moved to a new status (called by fulfil.shipments.states.advance); nothing when it is not in a session."""
    session = object_session(shipment)
    if session is None:
        return
    locations = [shipment.location_id, shipment.pickup_location_id] if shipment.pickup_location_id else [shipment.location_id]
    data: dict[str, Any] = {"status": shipment.status.value, "previous": getattr(previous, "value", previous)}
    if reason:
        data["reason"] = reason
    record(session, f"shipment.{shipment.status.value}", locations=locations, order_id=shipment.order_id, shipment_id=shipment.id, **data)


def order_changed(order: Order, previous: Any, **data: Any) -> None:
    """An order's status changed: recorded for the store concerned and, without a location, for the customer's notices."""
    session = object_session(order)
    if session is None:
        return
    store = order.pickup_location_id or order.origin_location_id
    record(
        session, f"order.{order.status.value}", locations=[store, None] if store else [None], order_id=order.id,
        status=order.status.value, previous=getattr(previous, "value", previous), external_id=order.external_id, **data,
    )

"""Pickups nobody collects: a reminder before the store's hold period ends, expiry when it has.

`sweep(factory, now)` is run by the service every `pickup_sweep_interval_seconds` (fulfil.pickups.scheduler) and by
`fulfil pickups sweep`; tests pass `now`. Each pickup is handled in a transaction of its own, so one that fails is
logged and the others go on. Any number of sweeps may run at once (two processes): a reminder is claimed by one
conditional UPDATE of `reminded_at`, an expiry locks the order and the shipment and re-checks that the pickup is
still ready and due, so nothing is reminded or expired twice."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from fulfil.db import unit_of_work
from fulfil.models import Location, Order, ShipmentStatus, StockCause, TagState
from fulfil.orders.cancel import cancel_order
from fulfil.pickups import notices, repository
from fulfil.routing_runs import repository as routing_repository
from fulfil.shipments import repository as shipments_repository
from fulfil.shipments.states import advance
from fulfil.stock import service as stock

log = logging.getLogger(__name__)

ACTOR = "system:pickups"
REASON = "not_collected"


@dataclass
class Swept:
    """What one sweep did: shipments reminded and expired, and those that failed (logged)."""

    reminded: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def sweep(factory: sessionmaker[Session], now: datetime, reminder_hours: float, actor: str = ACTOR) -> Swept:
    """Remind the customers of ready pickups whose hold period ends within `reminder_hours` of `now`, once each, and
    expire those whose hold period is over."""
    swept = Swept()
    with factory() as session:
        reminders = repository.due_reminders(session, now, timedelta(hours=reminder_hours))
        expiring = repository.due_expiry(session, now)
    for shipment_id in reminders:
        try:
            with unit_of_work(factory) as session:
                if remind(session, shipment_id, now):
                    swept.reminded.append(shipment_id)
        except Exception:  # one pickup must not stop the sweep
            log.exception("pickup reminder of shipment %s failed", shipment_id)
            swept.failed.append(shipment_id)
    for order_id, shipment_id in expiring:
        try:
            with unit_of_work(factory) as session:
                if expire(session, order_id, shipment_id, now, actor):
                    swept.expired.append(shipment_id)
        except Exception:
            log.exception("pickup expiry of shipment %s failed", shipment_id)
            swept.failed.append(shipment_id)
    return swept


def remind(session: Session, shipment_id: int, now: datetime) -> bool:
    """Record the reminder of a ready pickup (the customer's message, with the code again, and the store's notice),
    unless it was recorded already; True when this call recorded it."""
    if not repository.mark_reminded(session, shipment_id, now):
        return False
    shipment = shipments_repository.get(session, shipment_id)
    assert shipment is not None and shipment.pickup_location_id is not None
    order, store = session.get(Order, shipment.order_id), session.get(Location, shipment.pickup_location_id)
    assert order is not None and store is not None
    notices.reminder(session, order, shipment, store)
    return True


def expire(session: Session, order_id: int, shipment_id: int, now: datetime, actor: str = ACTOR) -> bool:
    """A ready pickup past its hold period: its units are released where they are held (back in the store's
    sellable stock; keys `expire:<shipment>:<line>`), its tags back in stock, the shipment expired, and what is left
    of the order cancelled with reason `not_collected`. True when this call expired it."""
    order = routing_repository.order_with_shipments(session, order_id, lock=True)
    shipment = shipments_repository.get(session, shipment_id, lock=True)
    if order is None or shipment is None or shipment.status is not ShipmentStatus.READY_FOR_PICKUP:
        return False
    if shipment.expires_at is None or shipment.expires_at > now:
        return False
    cause = stock.Cause(StockCause.ORDER, actor=actor, order_id=order.id, shipment_id=shipment.id, reason=REASON,
                        note="not collected within the store's hold period")
    for line in shipment.lines:
        stock.release(session, shipment.held_at, line.gtin, line.qty, cause, idempotency_key=f"expire:{shipment.id}:{line.id}")
    repository.set_tags(session, repository.tags_of(session, shipment.id, [TagState.PACKED]), state=TagState.IN_STOCK, shipment_id=None,
                        location_id=shipment.held_at)
    advance(shipment, ShipmentStatus.EXPIRED, reason=REASON)
    store = session.get(Location, shipment.pickup_location_id)
    assert store is not None
    notices.expired(session, order, shipment, store)
    session.flush()
    order = routing_repository.order_with_shipments(session, order_id, lock=True)
    assert order is not None
    cancel_order(session, order, REASON, actor)
    return True

"""The outbox: webhook events added to the session of the change they describe, so they are committed with it or
not at all (a rolled-back request, or a savepoint undone, takes its events along). The dispatcher delivers them
afterwards (fulfil.webhooks.dispatcher).

Two sources: the journal (fulfil.journal.service.record calls `from_journal` once per call; fulfil.webhooks.payloads
maps its kinds to webhook types) and stock changes (`stock_moved`, from fulfil.stock.service.move and the bulk RFID
receipts), which publish availability.changed when a store's bucket of a product changes."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from fulfil.config import get_settings
from fulfil.models import Location, LocationKind, WebhookEvent
from fulfil.models.base import utcnow
from fulfil.stock.rules import available, bucket
from fulfil.webhooks.payloads import JOURNAL, timestamp

log = logging.getLogger(__name__)

# Every type an endpoint may subscribe to, in the order docs/webhooks.md lists them.
EVENT_TYPES: tuple[str, ...] = (
    "order.routed", "order.partially_unfillable", "shipment.shipped", "shipment.ready_for_pickup", "pickup.reminder",
    "pickup.expired", "order.collected", "order.cancelled", "return.received", "availability.changed",
)
AVAILABILITY_CHANGED = "availability.changed"
# Bodies stay under the spec's ~20 kB: beyond, the lists of lines and items are left out (`truncated`).
MAX_BODY_BYTES = 20_000
_BULKY = ("lines", "items", "shipments", "unfilled", "parcels")
# Called after a commit that published events (in this process): the dispatcher of `serve` wakes up at once.
on_commit: set[Callable[[], None]] = set()
_PUBLISHED = "fulfil.webhooks.published"


def _encode(type_: str, at: datetime, data: dict[str, Any]) -> str:
    body = json.dumps({"type": type_, "timestamp": timestamp(at), "data": data}, separators=(",", ":"), ensure_ascii=False, default=str)
    if len(body.encode()) <= MAX_BODY_BYTES:
        return body
    data = dict(data)
    omitted = sorted(_strip(data))
    slim = json.dumps({"type": type_, "timestamp": timestamp(at), "data": {**data, "truncated": True, "omitted": omitted}},
                      separators=(",", ":"), ensure_ascii=False, default=str)
    if len(slim.encode()) > MAX_BODY_BYTES:
        log.warning("webhook %s is %d bytes even without its lists", type_, len(slim.encode()))
    return slim


def _strip(data: dict[str, Any]) -> set[str]:
    """Drop the bulky lists from `data` (top level and one level down; nested objects are replaced, not changed);
    the names of those dropped."""
    dropped: set[str] = set()
    for key in list(data):
        value = data[key]
        if key in _BULKY and isinstance(value, list):
            del data[key]
            dropped.add(key)
        elif isinstance(value, dict):
            kept = {k: v for k, v in value.items() if not (k in _BULKY and isinstance(v, list))}
            if len(kept) != len(value):
                dropped |= {f"{key}.{k}" for k in value if k not in kept}
                data[key] = kept
    return dropped


def publish(
    session: Session, type_: str, data: dict[str, Any], *, order_id: int | None = None, ordering_key: str | None = None,
    occurred_at: datetime | None = None,
) -> WebhookEvent:
    """Add one event to the outbox in the session's transaction. Events of one ordering key (by default the order's)
    reach each endpoint in the order they were published."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown webhook type {type_!r}")
    at = occurred_at or utcnow()
    row = WebhookEvent(
        public_id=f"evt_{uuid.uuid4().hex}", type=type_, order_id=order_id,
        ordering_key=ordering_key or (f"order:{order_id}" if order_id is not None else None), body=_encode(type_, at, data), occurred_at=at,
    )
    session.add(row)
    session.info[_PUBLISHED] = True
    return row


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_PUBLISHED, False):
        for wake in list(on_commit):
            wake()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PUBLISHED, None)


def from_journal(
    session: Session, kind: str, *, locations: Iterable[str | None], order_id: int | None, shipment_id: int | None, data: dict[str, Any],
) -> WebhookEvent | None:
    """The webhook of a journal event, if its kind is one (fulfil.webhooks.payloads.JOURNAL); for kinds recorded both
    for the store and for the customer, only the customer's copy (no location) makes one."""
    mapping = JOURNAL.get(kind)
    if mapping is None or (mapping.customer_copy and None not in locations):
        return None
    return publish(session, mapping.type, mapping.build(session, order_id, shipment_id, data), order_id=order_id)


def stock_moved(session: Session, location_id: str, gtin: str, *, on_hand: int, reserved: int, safety: int,
                on_hand_delta: int = 0, reserved_delta: int = 0, safety_delta: int = 0) -> WebhookEvent | None:
    """availability.changed when a change (the level after it, and its deltas) moves a store's product from one
    bucket to another (fulfil.stock.rules.bucket). No query unless the bucket changed: then the location, from the
    session's identity map when loaded."""
    now = available(on_hand, reserved, safety)
    before = available(on_hand - on_hand_delta, reserved - reserved_delta, safety - safety_delta)
    if now == before:
        return None
    limited_max = get_settings().availability_limited_max
    was, is_ = bucket(before, limited_max), bucket(now, limited_max)
    if was == is_:
        return None
    location = session.get(Location, location_id)
    if location is None or location.kind is not LocationKind.STORE:
        return None
    data = {"location_id": location_id, "gtin": gtin, "bucket": is_, "previous_bucket": was}
    return publish(session, AVAILABILITY_CHANGED, data, ordering_key=f"availability:{location_id}:{gtin}")

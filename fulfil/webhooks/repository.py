"""Queries of the webhooks: fanning the outbox out, claiming due deliveries under a lease, the delivery log.

Claims are safe under any number of dispatchers: a delivery is taken by one conditional UPDATE that re-checks the
lease (PostgreSQL re-evaluates it on the row once a concurrent claimer's lock is released; SQLite serialises
writers), and PostgreSQL readers skip rows another dispatcher is claiming (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from fulfil.models.base import UTCDateTime
from fulfil.models import (
    DeliveryStatus, EndpointStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent,
)

D = WebhookDelivery


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _skip_locked(session: Session, stmt: Select, *of: Any) -> Select:  # type: ignore[type-arg]
    """FOR UPDATE SKIP LOCKED on PostgreSQL (concurrent dispatchers take disjoint rows); SQLite serialises writers."""
    return stmt.with_for_update(skip_locked=True, of=list(of)) if _postgresql(session) else stmt


# ------------------------------------------------------------------------------------------------------ fan out


def unfanned_events(session: Session, limit: int) -> Sequence[tuple[int, str, str | None]]:
    """(id, type, ordering key) of events not fanned out yet, oldest first, locked for this transaction."""
    stmt = select(WebhookEvent.id, WebhookEvent.type, WebhookEvent.ordering_key).where(WebhookEvent.fanned_out_at.is_(None))
    stmt = _skip_locked(session, stmt.order_by(WebhookEvent.id).limit(limit), WebhookEvent)
    return [(row[0], row[1], row[2]) for row in session.execute(stmt)]


def subscriptions(session: Session) -> list[tuple[int, frozenset[str]]]:
    """Every endpoint (active or disabled: a disabled one's deliveries wait for it) with the types it wants."""
    return [(eid, frozenset(types or [])) for eid, types in session.execute(select(WebhookEndpoint.id, WebhookEndpoint.event_types))]


def add_deliveries(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert deliveries; one that exists already (endpoint, event) is left as it is."""
    if not rows:
        return
    insert = postgresql.insert(D) if _postgresql(session) else sqlite.insert(D)
    session.execute(insert.on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"]), rows)


def mark_fanned_out(session: Session, event_ids: list[int], at: datetime) -> None:
    session.execute(
        update(WebhookEvent).where(WebhookEvent.id.in_(event_ids), WebhookEvent.fanned_out_at.is_(None)).values(fanned_out_at=at)
        .execution_options(synchronize_session=False)
    )


# ------------------------------------------------------------------------------------------------------- claims


def _due_statement() -> Select:  # type: ignore[type-arg]
    """Deliveries that may be sent at :b_now (see due()), built once: a dispatcher asks several times a second."""
    earlier = aliased(D)
    earlier_event = aliased(WebhookEvent)
    now = bindparam("b_now", type_=UTCDateTime())
    blocked_by_delivery = exists().where(
        earlier.endpoint_id == D.endpoint_id, earlier.ordering_key == D.ordering_key, earlier.event_id < D.event_id,
        earlier.status == DeliveryStatus.PENDING,
    )
    blocked_by_fan_out = exists().where(
        earlier_event.ordering_key == D.ordering_key, earlier_event.id < D.event_id, earlier_event.fanned_out_at.is_(None),
    )
    return (
        select(D.id, D.endpoint_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == D.endpoint_id)
        .where(
            D.status == DeliveryStatus.PENDING, D.next_attempt_at <= now, or_(D.lease_until.is_(None), D.lease_until < now),
            WebhookEndpoint.status == EndpointStatus.ACTIVE,
            or_(D.ordering_key.is_(None), and_(~blocked_by_delivery, ~blocked_by_fan_out)),
            D.endpoint_id.not_in(bindparam("b_full", expanding=True)), D.id.not_in(bindparam("b_taken", expanding=True)),
        )
        .order_by(D.next_attempt_at, D.id)
        .limit(bindparam("b_limit", type_=Integer()))
    )


_DUE = _due_statement()
_DUE_SKIP_LOCKED = _DUE.with_for_update(skip_locked=True, of=[D])


def due(session: Session, now: datetime, limit: int, *, exclude_endpoints: Sequence[int] = (), exclude: Sequence[int] = ()) -> list[tuple[int, int]]:
    """(delivery id, endpoint id) of deliveries that may be sent now, oldest due first: pending, due, not leased,
    their endpoint active, and nothing earlier of the same ordering key still on its way to that endpoint (a pending
    delivery of an earlier event, or an earlier event not fanned out yet). `exclude_endpoints`: endpoints that may
    take no more now (a busy one must not hide the others' work); `exclude`: deliveries picked already."""
    stmt = _DUE_SKIP_LOCKED if _postgresql(session) else _DUE
    params = {"b_now": now, "b_limit": limit, "b_full": list(exclude_endpoints), "b_taken": list(exclude)}
    return [(row[0], row[1]) for row in session.execute(stmt, params)]


def active_endpoints(session: Session) -> set[int]:
    return set(session.scalars(select(WebhookEndpoint.id).where(WebhookEndpoint.status == EndpointStatus.ACTIVE)))


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    number: int  # the attempt's number in the log
    generation: int
    endpoint_id: int
    url: str
    secrets: list[str]
    event_id: str
    body: str


_CLAIM = (
    update(D)
    .where(
        D.id.in_(bindparam("b_ids", expanding=True)), D.status == DeliveryStatus.PENDING, D.next_attempt_at <= bindparam("b_now", type_=UTCDateTime()),
        or_(D.lease_until.is_(None), D.lease_until < bindparam("b_now", type_=UTCDateTime())),
    )
    .values(lease_owner=bindparam("b_owner"), lease_until=bindparam("b_until", type_=UTCDateTime()), attempts=D.attempts + 1,
            attempt_count=D.attempt_count + 1, last_attempt_at=bindparam("b_now", type_=UTCDateTime()))
    .returning(D.id)
    .execution_options(synchronize_session=False)
)
_CLAIMED = (
    select(D.id, D.attempt_count, D.generation, D.endpoint_id, WebhookEndpoint.url, WebhookEndpoint.secret,
           WebhookEndpoint.previous_secret, WebhookEndpoint.previous_secret_until, WebhookEvent.public_id, WebhookEvent.body)
    .join(WebhookEndpoint, WebhookEndpoint.id == D.endpoint_id)
    .join(WebhookEvent, WebhookEvent.id == D.event_id)
    .where(D.id.in_(bindparam("b_ids", expanding=True)))
    .order_by(D.next_attempt_at, D.id)
)


def claim(session: Session, ids: list[int], owner: str, now: datetime, lease_until: datetime) -> list[Claimed]:
    """Lease the deliveries that are still free and due (the conditional UPDATE is what makes a claim exclusive),
    count the attempt, and say what to send."""
    if not ids:
        return []
    taken = list(session.scalars(_CLAIM, {"b_ids": ids, "b_now": now, "b_owner": owner, "b_until": lease_until}))
    if not taken:
        return []
    rows = session.execute(_CLAIMED, {"b_ids": taken}).all()
    claimed = []
    for row in rows:
        keys = [row.secret] + ([row.previous_secret] if row.previous_secret and row.previous_secret_until and row.previous_secret_until > now else [])
        claimed.append(Claimed(row.id, row.attempt_count, row.generation, row.endpoint_id, row.url, keys, row.public_id, row.body))
    session.add_all(WebhookAttempt(delivery_id=c.delivery_id, number=c.number, dispatcher=owner, started_at=now) for c in claimed)
    return claimed


def deliveries_for_update(session: Session, ids: list[int]) -> dict[int, WebhookDelivery]:
    """Deliveries by id, their rows locked (PostgreSQL) while their outcomes are recorded."""
    stmt = select(D).where(D.id.in_(ids)).order_by(D.id)
    if _postgresql(session):
        stmt = stmt.with_for_update()
    return {d.id: d for d in session.scalars(stmt)}


_COMPLETE = (
    update(WebhookAttempt.__table__)  # type: ignore[arg-type]
    .where(WebhookAttempt.__table__.c.delivery_id == bindparam("b_delivery"), WebhookAttempt.__table__.c.number == bindparam("b_number"))
)


def complete_attempts(session: Session, outcomes: list[dict[str, Any]]) -> None:
    """Fill in the outcome of attempts (b_delivery, b_number: which; duration_ms, status_code, error, response_excerpt)."""
    session.execute(_COMPLETE, outcomes)


# ----------------------------------------------------------------------------------------------- the API's reads


def get_endpoint(session: Session, endpoint_id: int, *, lock: bool = False) -> WebhookEndpoint | None:
    return session.get(WebhookEndpoint, endpoint_id, with_for_update=lock and _postgresql(session) or None)


def delete_endpoint(session: Session, endpoint_id: int) -> None:
    """An endpoint with its deliveries and their log (deleted explicitly: no reliance on the database's cascades)."""
    deliveries = select(D.id).where(D.endpoint_id == endpoint_id)
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    session.execute(delete(D).where(D.endpoint_id == endpoint_id))
    session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))


def list_endpoints(session: Session, limit: int, offset: int) -> Sequence[WebhookEndpoint]:
    return session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id).limit(limit).offset(offset)).all()


def deliveries(
    session: Session, endpoint_id: int, *, status: DeliveryStatus | None, event_type: str | None, order_id: int | None,
    event_id: str | None, limit: int, offset: int,
) -> Sequence[tuple[WebhookDelivery, WebhookEvent]]:
    """An endpoint's deliveries with their events, newest event first."""
    stmt = (
        select(D, WebhookEvent).join(WebhookEvent, WebhookEvent.id == D.event_id).where(D.endpoint_id == endpoint_id)
        .order_by(D.event_id.desc()).limit(limit).offset(offset)
    )
    if status is not None:
        stmt = stmt.where(D.status == status)
    if event_type is not None:
        stmt = stmt.where(WebhookEvent.type == event_type)
    if order_id is not None:
        stmt = stmt.where(WebhookEvent.order_id == order_id)
    if event_id is not None:
        stmt = stmt.where(WebhookEvent.public_id == event_id)
    return [(row[0], row[1]) for row in session.execute(stmt)]


def attempts_of(session: Session, delivery_ids: list[int]) -> dict[int, list[WebhookAttempt]]:
    out: dict[int, list[WebhookAttempt]] = {i: [] for i in delivery_ids}
    if delivery_ids:
        stmt = select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(delivery_ids)).order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)
        for attempt in session.scalars(stmt):
            out[attempt.delivery_id].append(attempt)
    return out


def counts(session: Session, endpoint_id: int) -> dict[str, int]:
    """Deliveries of an endpoint per status."""
    stmt = select(D.status, func.count()).where(D.endpoint_id == endpoint_id).group_by(D.status)
    found = {DeliveryStatus(status): int(n) for status, n in session.execute(stmt)}
    return {s.value: found.get(s, 0) for s in DeliveryStatus}


# -------------------------------------------------------------------------------------------------------- replay


def events_by_public_id(session: Session, public_ids: list[str]) -> Sequence[WebhookEvent]:
    return session.scalars(select(WebhookEvent).where(WebhookEvent.public_id.in_(public_ids))).all()


def events_between(session: Session, since: datetime, until: datetime, types: list[str], limit: int) -> Sequence[WebhookEvent]:
    stmt = (
        select(WebhookEvent).where(WebhookEvent.occurred_at >= since, WebhookEvent.occurred_at < until, WebhookEvent.type.in_(types))
        .order_by(WebhookEvent.id).limit(limit)
    )
    return session.scalars(stmt).all()


def requeue(session: Session, endpoint_id: int, event_ids: list[int], now: datetime) -> int:
    """Send these events to the endpoint again, whatever became of them (a new round of the schedule, a new
    generation so a request in flight does not count for it); returns how many deliveries existed."""
    if not event_ids:
        return 0
    result = session.execute(
        update(D).where(D.endpoint_id == endpoint_id, D.event_id.in_(event_ids))
        .values(status=DeliveryStatus.PENDING, attempts=0, generation=D.generation + 1, next_attempt_at=now, delivered_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def existing_deliveries(session: Session, endpoint_id: int, event_ids: list[int]) -> set[int]:
    if not event_ids:
        return set()
    return set(session.scalars(select(D.event_id).where(D.endpoint_id == endpoint_id, D.event_id.in_(event_ids))))



def prune(session: Session, before: datetime) -> int:
    """Delete events that occurred before `before` and are over (fanned out, no delivery pending), with their
    deliveries and log; how many events."""
    pending = exists().where(D.event_id == WebhookEvent.id, D.status == DeliveryStatus.PENDING)
    ids = list(session.scalars(
        select(WebhookEvent.id).where(WebhookEvent.occurred_at < before, WebhookEvent.fanned_out_at.is_not(None), ~pending)
    ))
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        deliveries = select(D.id).where(D.event_id.in_(chunk))
        session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
        session.execute(delete(D).where(D.event_id.in_(chunk)))
        session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(chunk)))
    return len(ids)

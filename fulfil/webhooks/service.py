"""Managing webhook endpoints (ops): register with a secret shown once, change, disable and enable, rotate the
secret, delete; read an endpoint's deliveries with their log; replay events to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.errors import NotFound
from fulfil.models import DeliveryStatus, EndpointStatus, WebhookEndpoint
from fulfil.models.base import utcnow
from fulfil.webhooks import repository, signing
from fulfil.webhooks.schemas import (
    DeliveryRead, ReplayRequest, ReplayResult, ReplaySkipped, SecretRotation, WebhookCreate, WebhookRead, WebhookSecret, WebhookUpdate,
)

REPLAY_MAX_EVENTS = 10_000  # events one time-range replay takes
SKIPPED_SHOWN = 100


def _utc(value: datetime) -> datetime:
    """An aware instant in UTC; one beyond what UTC can write (year 1 with a positive offset) is clamped."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return (datetime.min if value.year < 5000 else datetime.max).replace(tzinfo=UTC)


def read(session: Session, endpoint: WebhookEndpoint) -> WebhookRead:
    return WebhookRead.of(endpoint, repository.counts(session, endpoint.id))


def list_(session: Session, limit: int, offset: int) -> list[WebhookRead]:
    return [read(session, e) for e in repository.list_endpoints(session, limit, offset)]


def get(session: Session, endpoint_id: int, *, lock: bool = False) -> WebhookEndpoint:
    endpoint = repository.get_endpoint(session, endpoint_id, lock=lock)
    if endpoint is None:
        raise NotFound(f"webhook endpoint {endpoint_id} not found", details={"webhook_id": endpoint_id})
    return endpoint


def create(session: Session, data: WebhookCreate) -> WebhookSecret:
    """Register an endpoint; its secret is in this answer only. It receives events that occur from now on."""
    endpoint = WebhookEndpoint(url=data.url, description=data.description, event_types=list(data.event_types), secret=signing.new_secret())
    session.add(endpoint)
    session.flush()
    return WebhookSecret(**read(session, endpoint).model_dump(), secret=endpoint.secret)


def update(session: Session, endpoint_id: int, data: WebhookUpdate, principal: Principal) -> WebhookRead:
    """Change what was sent. Disabling holds its deliveries (new events still queue for it); enabling sends them."""
    endpoint = get(session, endpoint_id, lock=True)
    changes = data.model_dump(exclude_unset=True)
    if "url" in changes:
        endpoint.url = changes["url"]
    if "event_types" in changes:
        endpoint.event_types = list(changes["event_types"])
    if "description" in changes:
        endpoint.description = changes["description"]
    status = changes.get("status")
    if status is not None and status is not endpoint.status:
        endpoint.status = status
        if status is EndpointStatus.ACTIVE:
            endpoint.disabled_reason = None
            endpoint.disabled_at = None
        else:
            endpoint.disabled_reason = f"disabled by {principal.label}"
            endpoint.disabled_at = utcnow()
    endpoint.updated_at = utcnow()
    session.flush()
    return read(session, endpoint)


def rotate_secret(session: Session, endpoint_id: int, data: SecretRotation) -> WebhookSecret:
    """A new secret, shown once; requests are signed with the previous one too for the grace period."""
    endpoint = get(session, endpoint_id, lock=True)
    now = utcnow()
    if data.grace_seconds:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_until = now + timedelta(seconds=data.grace_seconds)
    else:
        endpoint.previous_secret = None
        endpoint.previous_secret_until = None
    endpoint.secret = signing.new_secret()
    endpoint.updated_at = now
    session.flush()
    return WebhookSecret(**read(session, endpoint).model_dump(), secret=endpoint.secret)


def delete(session: Session, endpoint_id: int) -> WebhookRead:
    """Remove an endpoint with its deliveries and their log (a request in flight ends unrecorded)."""
    endpoint = get(session, endpoint_id, lock=True)
    answer = read(session, endpoint)
    session.expunge(endpoint)
    repository.delete_endpoint(session, endpoint_id)
    return answer


def deliveries(
    session: Session, endpoint_id: int, *, status: DeliveryStatus | None, event_type: str | None, order_id: int | None,
    event_id: str | None, limit: int, offset: int,
) -> list[DeliveryRead]:
    """An endpoint's deliveries, newest event first, each with its log."""
    get(session, endpoint_id)
    rows = repository.deliveries(session, endpoint_id, status=status, event_type=event_type, order_id=order_id, event_id=event_id,
                                 limit=limit, offset=offset)
    log = repository.attempts_of(session, [d.id for d, _ in rows])
    now = utcnow()
    return [DeliveryRead.of(d, e, log[d.id], now) for d, e in rows]


def replay(session: Session, endpoint_id: int, data: ReplayRequest) -> ReplayResult:
    """Queue events for this endpoint again, same webhook-id: its deliveries of them start a new round of the retry
    schedule (delivered or failed ones too); events it never had (it did not exist, or did not take that type
    then) get a delivery if it takes their type now. Events not fanned out yet are left to the dispatcher."""
    endpoint = get(session, endpoint_id, lock=True)
    types = set(endpoint.event_types)
    now = utcnow()
    skipped: list[ReplaySkipped] = []
    truncated, last = False, None
    if data.event_ids is not None:
        found = {e.public_id: e for e in repository.events_by_public_id(session, data.event_ids)}
        events = []
        for public_id in data.event_ids:
            event = found.get(public_id)
            if event is None:
                skipped.append(ReplaySkipped(event_id=public_id, reason="unknown"))
            else:
                events.append(event)
    else:
        assert data.since is not None
        until = _utc(data.until) if data.until is not None else now
        events = list(repository.events_between(session, _utc(data.since), until, sorted(types), REPLAY_MAX_EVENTS))
        truncated = len(events) == REPLAY_MAX_EVENTS
        last = events[-1].occurred_at if events else None
    have = repository.existing_deliveries(session, endpoint.id, [e.id for e in events])
    requeue, create = [], []
    for event in events:
        if event.id in have:
            requeue.append(event.id)
        elif event.type not in types:
            skipped.append(ReplaySkipped(event_id=event.public_id, reason="not_subscribed"))
        elif event.fanned_out_at is None:
            skipped.append(ReplaySkipped(event_id=event.public_id, reason="not_fanned_out"))
        else:
            create.append(event)
    requeued = repository.requeue(session, endpoint.id, requeue, now)
    repository.add_deliveries(session, [
        {"endpoint_id": endpoint.id, "event_id": e.id, "ordering_key": e.ordering_key, "status": DeliveryStatus.PENDING.value,
         "attempts": 0, "attempt_count": 0, "generation": 0, "next_attempt_at": now, "created_at": now}
        for e in create
    ])
    session.flush()
    return ReplayResult(requeued=requeued, created=len(create), skipped=skipped[:SKIPPED_SHOWN], truncated=truncated, last_occurred_at=last)

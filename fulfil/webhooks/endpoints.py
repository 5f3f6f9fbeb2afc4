"""/api/v1/webhooks (ops only): endpoints, their deliveries and delivery log, replays."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, status

from fulfil.api_types import Offset, OptionalRecordId, RecordId
from fulfil.deps import CommittingRoute, OpsOnly, SessionDep
from fulfil.models import DeliveryStatus
from fulfil.webhooks import service
from fulfil.webhooks.schemas import (
    EVENT_ID_PATTERN, DeliveryRead, EventType, ReplayRequest, ReplayResult, SecretRotation, WebhookCreate, WebhookRead, WebhookSecret,
    WebhookUpdate,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"], route_class=CommittingRoute)


@router.post("", response_model=WebhookSecret, status_code=status.HTTP_201_CREATED)
def create_webhook(data: WebhookCreate, session: SessionDep, _: OpsOnly) -> WebhookSecret:
    """Register an endpoint for some event types. The answer carries its signing secret (`whsec_...`), shown this
    once. It receives the events that occur from now on (replay sends earlier ones)."""
    return service.create(session, data)


@router.get("", response_model=list[WebhookRead])
def list_webhooks(
    session: SessionDep, _: OpsOnly, limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Offset = 0,
) -> list[WebhookRead]:
    """Endpoints (never their secrets), with their deliveries counted per status."""
    return service.list_(session, limit, offset)


@router.get("/{webhook_id}", response_model=WebhookRead)
def get_webhook(webhook_id: RecordId, session: SessionDep, _: OpsOnly) -> WebhookRead:
    """One endpoint: its status (and why it is disabled), its deliveries per status."""
    return service.read(session, service.get(session, webhook_id))


@router.patch("/{webhook_id}", response_model=WebhookRead)
def update_webhook(webhook_id: RecordId, data: WebhookUpdate, session: SessionDep, principal: OpsOnly) -> WebhookRead:
    """Change the URL, the event types, the description, or the status: `disabled` holds its deliveries (events still
    queue for it), `active` enables it again and what waited goes out at once (also after a 410 disabled it)."""
    return service.update(session, webhook_id, data, principal)


@router.delete("/{webhook_id}", response_model=WebhookRead)
def delete_webhook(webhook_id: RecordId, session: SessionDep, _: OpsOnly) -> WebhookRead:
    """Remove an endpoint with its deliveries and their log."""
    return service.delete(session, webhook_id)


@router.post("/{webhook_id}/rotate-secret", response_model=WebhookSecret)
def rotate_secret(webhook_id: RecordId, session: SessionDep, _: OpsOnly,
                  data: Annotated[SecretRotation | None, Body()] = None) -> WebhookSecret:
    """A new signing secret, shown this once. For `grace_seconds` (default a day) each request is signed with the old
    and the new secret (two signatures in `webhook-signature`), so receivers can switch without missing one."""
    return service.rotate_secret(session, webhook_id, data or SecretRotation())


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryRead])
def list_deliveries(
    webhook_id: RecordId,
    session: SessionDep,
    _: OpsOnly,
    status_: Annotated[DeliveryStatus | None, Query(alias="status", description="pending, delivered or failed (every attempt failed).")] = None,
    event_type: Annotated[EventType | None, Query()] = None,
    order_id: OptionalRecordId = None,
    event_id: Annotated[str | None, Query(pattern=EVENT_ID_PATTERN, max_length=36, description="A webhook-id (evt_...).")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> list[DeliveryRead]:
    """The endpoint's deliveries, newest event first, each with the event sent and its log (every request: when, how
    long, the status or error, the start of the answer). `status=failed` lists what gave up; replay sends it again."""
    return service.deliveries(session, webhook_id, status=status_, event_type=event_type, order_id=order_id, event_id=event_id,
                              limit=limit, offset=offset)


@router.post("/{webhook_id}/replay", response_model=ReplayResult)
def replay(webhook_id: RecordId, data: ReplayRequest, session: SessionDep, _: OpsOnly) -> ReplayResult:
    """Send events to this endpoint again with the same webhook-id, delivered or not: by id, or those that occurred
    in a time range (of the types it takes). Each gets a new round of the retry schedule."""
    return service.replay(session, webhook_id, data)

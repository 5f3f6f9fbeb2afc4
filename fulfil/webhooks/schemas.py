"""API shapes of webhook endpoints, their deliveries and the delivery log."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Self
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, GetJsonSchemaHandler, field_validator, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from fulfil.api_types import PatchModel, RequestModel
from fulfil.exactly_one import ExactlyOneOf
from fulfil.models import DeliveryStatus, EndpointStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from fulfil.webhooks.outbox import EVENT_TYPES

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
EVENT_ID_PATTERN = r"^evt_[0-9a-f]{32}$"
EventId = Annotated[str, Field(pattern=EVENT_ID_PATTERN, min_length=36, max_length=36, examples=["evt_0f6e1c2b9a8d4e7f8a1b2c3d4e5f6a7b"])]
MAX_URL = 2000
MAX_REPLAY_IDS = 1000
# An absolute http(s) URL: scheme, a host without credentials (no user:password@), an optional port (0-65535), then a
# path or query of printable ASCII without a #fragment. IPv6 literals are not taken (use a host name).
URL_PATTERN = (
    r"^[hH][tT][tT][pP][sS]?://[A-Za-z0-9\-._~%!$&'()*+,;=]+"
    r"(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
    r"([/?][\x21\x22\x24-\x7E]*)?$"
)
_URL = re.compile(URL_PATTERN)


def _url(value: str) -> str:
    """An absolute http(s) URL with a host and no credentials (the request is signed; a password in a URL would be
    stored and shown to every ops reader)."""
    if not _URL.fullmatch(value):
        raise ValueError("must be an http:// or https:// URL of printable ASCII, without credentials, spaces or #fragment")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("must name a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("may not carry credentials (user:password@): the signature authenticates Fulfil")
    if parts.fragment:
        raise ValueError("may not carry a #fragment (it is never sent)")
    del port
    return value


def _types(value: list[str]) -> list[str]:
    return list(dict.fromkeys(value))  # each type once, in the order given


class WebhookCreate(RequestModel):
    """An endpoint to send events to."""

    url: str = Field(min_length=8, max_length=MAX_URL, pattern=URL_PATTERN, examples=["https://shop.example.com/hooks/fulfil"],
                     description="http:// or https:// URL, without credentials; redirects are not followed.")
    event_types: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES), description="The types to send (each at most once).")
    description: str | None = Field(default=None, max_length=500)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _url(value)

    @field_validator("event_types")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return _types(value)


class WebhookUpdate(PatchModel):
    """Fields to change. `status: active` enables a disabled endpoint again: its waiting deliveries go out at once."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"description"})

    url: str | None = Field(default=None, min_length=8, max_length=MAX_URL, pattern=URL_PATTERN)
    event_types: list[EventType] | None = Field(default=None, min_length=1, max_length=len(EVENT_TYPES))
    description: str | None = Field(default=None, max_length=500)
    status: EndpointStatus | None = None

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else _url(value)

    @field_validator("event_types")
    @classmethod
    def _dedupe(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _types(value)


class SecretRotation(RequestModel):
    """A new secret; the previous one keeps signing (a second signature) for `grace_seconds`."""

    grace_seconds: int = Field(default=86_400, ge=0, le=7 * 86_400, description="How long requests carry a signature with the previous secret too.")


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    description: str | None
    event_types: list[str]
    status: EndpointStatus
    disabled_reason: str | None = Field(description="Why it is disabled: by ops, or the URL answered 410 Gone.")
    disabled_at: datetime | None
    previous_secret_until: datetime | None = Field(description="After a rotation: until when the previous secret signs too.")
    created_at: datetime
    updated_at: datetime
    deliveries: dict[str, int] = Field(default_factory=dict, description="Deliveries per status: pending, delivered, failed.")

    @classmethod
    def of(cls, endpoint: WebhookEndpoint, counts: dict[str, int]) -> WebhookRead:
        read = cls.model_validate(endpoint)
        read.deliveries = counts
        return read


class WebhookSecret(WebhookRead):
    secret: str = Field(description="The signing secret (`whsec_` + base64), shown this once: keep it to verify signatures.")


class AttemptRead(BaseModel):
    """One request of the delivery log."""

    model_config = ConfigDict(from_attributes=True)

    number: int = Field(description="1 for the first request of this delivery; replays continue the count.")
    dispatcher: str = Field(description="host:pid:id of the dispatcher that sent it.")
    started_at: datetime
    duration_ms: int | None = Field(description="Null: no outcome was recorded (the dispatcher stopped mid-request).")
    status_code: int | None = Field(description="The receiver's HTTP status; null when none came (timeout, refused, reset).")
    error: str | None
    response_excerpt: str | None = Field(description="The first 500 bytes of the answer.")


class EventRead(BaseModel):
    id: str = Field(description="The webhook-id: the same on every attempt and replay (dedupe on it).")
    type: str
    order_id: int | None
    occurred_at: datetime
    payload: dict[str, Any] = Field(description="The body sent: {type, timestamp, data}.")

    @classmethod
    def of(cls, event: WebhookEvent) -> EventRead:
        return cls(id=event.public_id, type=event.type, order_id=event.order_id, occurred_at=event.occurred_at, payload=json.loads(event.body))


class DeliveryRead(BaseModel):
    id: int
    event: EventRead
    status: DeliveryStatus = Field(description="pending (due at next_attempt_at, or being sent), delivered, failed (every attempt failed).")
    attempts: int = Field(description="Attempts of the current round (a replay starts a new one); at most 10 before `failed`.")
    attempt_count: int = Field(description="Every attempt ever made.")
    next_attempt_at: datetime | None = Field(description="When it is due (pending only).")
    sending: bool = Field(description="A dispatcher holds it now (its lease has not run out).")
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    log: list[AttemptRead]

    @classmethod
    def of(cls, delivery: WebhookDelivery, event: WebhookEvent, attempts: list[WebhookAttempt], now: datetime) -> DeliveryRead:
        pending = delivery.status is DeliveryStatus.PENDING
        return cls(
            id=delivery.id, event=EventRead.of(event), status=delivery.status, attempts=delivery.attempts, attempt_count=delivery.attempt_count,
            next_attempt_at=delivery.next_attempt_at if pending else None,
            sending=delivery.lease_until is not None and delivery.lease_until > now,
            last_status_code=delivery.last_status_code, last_error=delivery.last_error, last_attempt_at=delivery.last_attempt_at,
            delivered_at=delivery.delivered_at, log=[AttemptRead.model_validate(a) for a in attempts],
        )


class ReplayRequest(ExactlyOneOf, RequestModel):
    """Events to send to this endpoint again (delivered, failed or pending alike), with the same webhook-id: by id,
    or those that occurred in a time range (of the types the endpoint takes)."""

    exactly_one_of: ClassVar[tuple[str, ...]] = ("event_ids", "since")
    exactly_one_message: ClassVar[str] = "give exactly one of event_ids or since (with until, optionally)"

    event_ids: list[EventId] | None = Field(default=None, min_length=1, max_length=MAX_REPLAY_IDS, description="webhook-ids (evt_...).")
    since: AwareDatetime | None = Field(default=None, description="Events that occurred at or after this instant ...")
    until: AwareDatetime | None = Field(default=None, description="... and before this one (default: now; none when not after since). "
                                        "Only with since.")

    @field_validator("event_ids")
    @classmethod
    def _ids(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _until_with_since(self) -> Self:
        if self.until is not None and self.since is None:
            raise ValueError("until goes with since, not with event_ids")
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = super().__get_pydantic_json_schema__(core_schema, handler)
        target = handler.resolve_ref_schema(schema)
        for branch in target["oneOf"]:
            if branch["required"] == ["event_ids"]:
                branch["properties"]["until"] = {"type": "null"}  # until only bounds a time range
        return schema


class ReplaySkipped(BaseModel):
    event_id: str
    reason: str = Field(description="unknown (no such event), not_subscribed (a type the endpoint does not take), "
                        "not_fanned_out (not sent anywhere yet: it will be, once)")


class ReplayResult(BaseModel):
    requeued: int = Field(description="Deliveries sent again (they existed: delivered, failed or pending).")
    created: int = Field(description="Events this endpoint never had a delivery of (it did not exist or take them then), now queued.")
    skipped: list[ReplaySkipped] = Field(description="Named events not replayed, and why (at most 100 listed).")
    truncated: bool = Field(default=False, description="A time range matched more events than one replay takes (10,000): "
                            "replay again from last_occurred_at.")
    last_occurred_at: datetime | None = None

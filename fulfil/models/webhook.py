"""Webhooks: the endpoints ops register, the outbox of events (written in the transaction of the change they
describe), one delivery per endpoint and event, and the log of every attempt (fulfil.webhooks)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fulfil.models.base import Base, BigId, UTCDateTime, str_enum, utcnow


class EndpointStatus(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"  # by ops, or because it answered 410 Gone: its pending deliveries wait until re-enabled


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # due at next_attempt_at; being sent while a dispatcher holds its lease
    DELIVERED = "delivered"  # a 2xx answer
    FAILED = "failed"  # every attempt of the retry schedule failed (dead): only a replay sends it again


class WebhookEndpoint(Base):
    """A URL ops registered for some event types. The secret signs every request (it is needed to sign, so it is
    stored, and shown only at creation and rotation); after a rotation the previous one signs too until it lapses."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    event_types: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(100))  # whsec_<base64 of 32 random bytes>
    previous_secret: Mapped[str | None] = mapped_column(String(100), default=None)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    status: Mapped[EndpointStatus] = mapped_column(str_enum(EndpointStatus, "endpoint_status"), default=EndpointStatus.ACTIVE)
    disabled_reason: Mapped[str | None] = mapped_column(Text, default=None)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookEvent(Base):
    """The outbox: one row per event, written with the change it describes. `body` is the exact JSON sent (and
    signed) on every attempt to every endpoint; `public_id` is its webhook-id. Fanned out to the endpoints subscribed
    at that moment by the dispatcher (fanned_out_at)."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_unfanned", "fanned_out_at", "id"),
        # An earlier event of the same key not fanned out yet holds later ones back: one tight range per key.
        Index("ix_webhook_events_ordering", "ordering_key", "fanned_out_at", "id"),
        Index("ix_webhook_events_order", "order_id", "id"),
        Index("ix_webhook_events_occurred", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # evt_<32 hex>: the webhook-id header
    type: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), default=None)
    # Events of one key reach each endpoint in order: order:<id>, availability:<location>:<gtin>.
    ordering_key: Mapped[str | None] = mapped_column(String(160), default=None)
    body: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class WebhookDelivery(Base):
    """One event to one endpoint. A dispatcher claims it with a lease (lease_owner, lease_until) so no other sends it
    at the same time; a dispatcher that dies leaves a lease that runs out, and another sends it again (same
    webhook-id). `attempts` counts this round's attempts (the retry schedule; a replay starts a new round),
    `attempt_count` every attempt ever (the log's numbers); a replay bumps `generation`."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at", "id"),  # the claim's order: it stops at its limit
        Index("ix_webhook_deliveries_ordering", "endpoint_id", "ordering_key", "event_id"),
        Index("ix_webhook_deliveries_event", "event_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("webhook_events.id", ondelete="CASCADE"))
    ordering_key: Mapped[str | None] = mapped_column(String(160), default=None)  # the event's, for the ordering rule
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookAttempt(Base):
    """The delivery log: one row per request sent, written when it starts (so a dispatcher killed mid-request
    leaves an attempt without an outcome) and completed with the answer or the error."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(BigId, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    dispatcher: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column(Integer, default=None)  # None: no outcome recorded
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    response_excerpt: Mapped[str | None] = mapped_column(Text, default=None)

"""API shapes of customer tracking: only what the customer may know (no prices, lines, addresses or internal ids)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class TrackingStatus(enum.StrEnum):
    RECEIVED = "received"  # taken in; not being prepared yet (also while it waits for stock)
    PREPARING = "preparing"  # a store or warehouse is picking or packing it
    PARTIALLY_SHIPPED = "partially_shipped"  # home delivery: some parcels left, others are still being prepared
    SHIPPED = "shipped"  # home delivery: every parcel left
    ON_THE_WAY_TO_STORE = "on_the_way_to_store"  # click and collect: a parcel is on its way to (or arrived at) the store
    PARTIALLY_READY_FOR_PICKUP = "partially_ready_for_pickup"  # click and collect: some parts wait at the store, others do not yet
    READY_FOR_PICKUP = "ready_for_pickup"
    COLLECTED = "collected"
    CANCELLED = "cancelled"


class TrackedParcel(BaseModel):
    sscc: str = Field(description="The parcel's SSCC-18, as on its label (what a carrier tracks it by).")
    status: Literal["packed", "shipped", "at_store", "collected"] = Field(
        description="packed (not left yet), shipped (left: to the customer, or to the pickup store), at_store (arrived at the pickup store), collected."
    )
    left: bool = Field(description="Whether it left the store or warehouse that packed it.")


class PickupStore(BaseModel):
    name: str
    address: dict[str, Any] | None
    opening_hours: dict[str, Any] | None = Field(description='As the store publishes them, e.g. {"mon": [["09:00", "19:00"]]}.')
    timezone: str = Field(description="The IANA time zone of the opening hours.")


class PickupTracking(BaseModel):
    store: PickupStore
    ready_since: datetime | None = Field(description="When the first part was ready for pickup (null: not ready yet).")
    hold_until: datetime | None = Field(description="When a ready part is sent back if not collected (the earliest, when several wait).")


class TrackingRead(BaseModel):
    """What a customer may know about an order."""

    external_id: str = Field(description="The order number the shop gave the customer.")
    kind: Literal["delivery", "pickup"]
    status: TrackingStatus
    pickup: PickupTracking | None = Field(description="Click and collect: where and until when.")
    parcels: list[TrackedParcel] = Field(description="Parcels packed for it (a parcel set aside and replaced is left out).")


class TrackingLinkRead(BaseModel):
    """The order's tracking token, for the channel to put in the customer's messages (ops and channel tokens only)."""

    token: str = Field(description="Unguessable (128 bits); GET /api/v1/track/{token} answers without a bearer token.")
    path: str = Field(description="The tracking route for this order.")

"""API shapes of orders, their lines and shipments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fulfil.api_types import RequestModel
from fulfil.catalog.schemas import Gtin
from fulfil.exactly_one import ExactlyOneOf
from fulfil.models import Channel, OrderStatus, ParcelStatus, ShipmentStatus

MAX_LINES = 500
MAX_LINE_QTY = 10_000


class ShipTo(RequestModel):
    name: str | None = Field(default=None, max_length=200)
    address_lines: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=4)
    city: str | None = Field(default=None, max_length=100)
    postcode: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, min_length=2, max_length=2, description="ISO 3166-1 alpha-2.")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class OrderLineCreate(RequestModel):
    gtin: Gtin
    qty: int = Field(ge=1, le=MAX_LINE_QTY)


class OrderCreate(ExactlyOneOf, RequestModel):
    exactly_one_of: ClassVar[tuple[str, ...]] = ("ship_to", "pickup_location_id")
    exactly_one_message: ClassVar[str] = "give exactly one of ship_to (home delivery) or pickup_location_id (click and collect)"

    external_id: str = Field(
        min_length=1, max_length=128, pattern=r"^[\x21-\x7E]+$",
        description="The client's order id. Posting the same id again returns the same order, never a duplicate.",
    )
    channel: Channel
    ship_to: ShipTo | None = Field(default=None, description="Home delivery address with coordinates.")
    pickup_location_id: str | None = Field(default=None, max_length=64, description="Click and collect: the store the customer collects at.")
    origin_location_id: str | None = Field(default=None, max_length=64, description="The store that took a store order (endless aisle).")
    promise_days: int | None = Field(default=None, ge=0, le=60, description="Delivery promised within this many days (hard limit).")
    customer_ref: str | None = Field(default=None, max_length=128)
    lines: list[OrderLineCreate] = Field(min_length=1, max_length=MAX_LINES)

    @model_validator(mode="after")
    def _one_line_per_gtin(self) -> Self:
        """Lines of the same GTIN (however it was spelled) become one line, in the order they first appear, so the
        order, its shipments and its retries all count each product once."""
        merged: dict[str, int] = {}
        for line in self.lines:
            merged[line.gtin] = merged.get(line.gtin, 0) + line.qty
        if len(merged) < len(self.lines):
            # The cap is per line as sent; a merged line may exceed it (at most MAX_LINES x MAX_LINE_QTY units).
            self.lines = [OrderLineCreate.model_construct(gtin=g, qty=q) for g, q in merged.items()]
        return self


class OrderLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_no: int
    gtin: str
    qty: int


class ShipmentLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    gtin: str
    qty: int
    picked_qty: int


class ParcelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sscc: str
    status: ParcelStatus
    created_at: datetime


class ShipmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    location_id: str
    status: ShipmentStatus
    rejection_reason: str | None
    created_at: datetime
    status_changed_at: datetime
    lines: list[ShipmentLineRead]
    parcels: list[ParcelRead]
    # Click and collect: where the customer collects it, where its units are held now, and its pickup window.
    pickup_location_id: str | None = None
    held_at: str | None = None
    ready_at: datetime | None = None
    expires_at: datetime | None = None


class PickupCodeRead(BaseModel):
    """The customer's pickup code: in answers to ops tokens only (the channel sends it to the customer; a store
    reading it off its own screen would make the check at handover meaningless)."""

    code: str = Field(description="What the customer shows at handover and checks in with at the curb.")
    display: str = Field(description="The code as printed for people, e.g. `ABCD-EFGH` (case, spaces and dashes are ignored when typed).")
    qr_payload: str = Field(description="What to encode in the QR code of the customer's message: `FULFIL:PICKUP:<order id>:<code>`.")


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str
    channel: Channel
    status: OrderStatus
    ship_to: dict[str, Any] | None
    pickup_location_id: str | None
    origin_location_id: str | None
    promise_days: int | None
    customer_ref: str | None
    created_at: datetime
    updated_at: datetime
    lines: list[OrderLineRead]
    shipments: list[ShipmentRead]
    pickup: PickupCodeRead | None = Field(default=None, description="Click and collect, ops tokens only: the customer's pickup code.")
    checked_in_at: datetime | None = Field(default=None, description="Curbside: when the customer said they were here.")
    checkin: dict[str, Any] | None = Field(default=None, description="Curbside: bay, car, note.")


class OrderSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str
    channel: Channel
    status: OrderStatus
    pickup_location_id: str | None
    origin_location_id: str | None
    created_at: datetime

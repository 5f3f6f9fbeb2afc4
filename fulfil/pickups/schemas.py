"""API shapes of click and collect: the pickup code, receiving by SSCC, handover, curbside check-in, the pickups list."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from fulfil.api_types import RequestModel
from fulfil.catalog.schemas import Gtin
from fulfil.exactly_one import ExactlyOneOf
from fulfil.models import OrderStatus, ParcelStatus, ShipmentStatus
from fulfil.orders.schemas import MAX_LINE_QTY, MAX_LINES, ShipmentRead
from fulfil.pickups.codes import CODE_INPUT_PATTERN
from fulfil.shipments.schemas import UnitsRead
from fulfil.tags.schemas import Epc

# A scanned SSCC: the 18 digits, optionally behind AI (00) (bracketed or not) and the GS1-128 symbology id ]C1.
SSCC_INPUT_PATTERN = r"^(\]C1)?(\(00\)|00)?[0-9]{18}$"


class ReceiveRequest(RequestModel):
    sscc: str = Field(
        pattern=SSCC_INPUT_PATTERN, max_length=24,
        description="The parcel label's SSCC as scanned: 18 digits, optionally with AI (00) and the ]C1 symbology identifier.",
    )


class RefusedLine(RequestModel):
    gtin: Gtin
    qty: int = Field(ge=1, le=MAX_LINE_QTY, description="Units of this product the customer did not take.")
    damaged: bool = Field(default=False, description="Damaged units go to quarantine; undamaged ones back into the store's sellable stock.")
    reason: str = Field(min_length=1, max_length=200, description="Why the customer refused them, e.g. wrong size, damaged box.")
    epcs: list[Epc] | None = Field(
        default=None, max_length=MAX_LINE_QTY,
        description="The refused units' tags, scanned at the counter (as many as qty): those exact tags go back into the "
        "store. Without them the count is applied to the parcel's tags of that product in EPC order.",
    )


class HandoverRequest(ExactlyOneOf, RequestModel):
    exactly_one_of: ClassVar[tuple[str, ...]] = ("pickup_code", "override_reason")
    exactly_one_message: ClassVar[str] = "give exactly one of pickup_code (the customer's) or override_reason (ops only)"

    pickup_code: str | None = Field(
        default=None, pattern=CODE_INPUT_PATTERN, max_length=32, description="The code the customer shows (case, spaces and dashes ignored)."
    )
    override_reason: str | None = Field(
        default=None, min_length=1, max_length=500, description="Ops tokens only: hand over without the code, saying why (identity checked another way)."
    )
    refused: list[RefusedLine] = Field(default_factory=list, max_length=MAX_LINES, description="What the customer refused at the counter.")


class RefusedRead(BaseModel):
    gtin: str
    qty: int
    damaged: bool
    reason: str


class HandoverResult(BaseModel):
    shipment: ShipmentRead
    order_id: int
    order_status: OrderStatus
    delivered: list[UnitsRead] = Field(description="Units the customer took (the shipment's units less those refused).")
    refused: list[RefusedRead]
    authorised_by: Literal["pickup_code", "override"]
    override_reason: str | None
    handed_over_at: datetime
    handed_over_by: str | None


class CheckinRequest(RequestModel):
    bay: str | None = Field(default=None, min_length=1, max_length=16, description="The parking bay or spot number.")
    car: str | None = Field(default=None, min_length=1, max_length=120, description="What to look for, e.g. a blue Clio.")
    note: str | None = Field(default=None, min_length=1, max_length=300)


class CheckinResult(BaseModel):
    store_name: str
    ready: bool = Field(description="Whether the whole order is ready to be brought out.")
    checked_in_at: datetime
    bay: str | None
    car: str | None
    note: str | None


class PickupParcelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sscc: str
    status: ParcelStatus


class PickupLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    gtin: str
    qty: int


class PickupRead(BaseModel):
    """A click-and-collect shipment as its pickup store sees it."""

    shipment_id: int
    order_id: int
    external_id: str
    customer_ref: str | None
    pickup_location_id: str
    location_id: str = Field(description="The location that prepared it (the pickup store itself, or where it ships from).")
    status: ShipmentStatus
    status_changed_at: datetime
    lines: list[PickupLineRead]
    parcels: list[PickupParcelRead]
    ready_at: datetime | None
    expires_at: datetime | None
    reminded_at: datetime | None
    checked_in_at: datetime | None
    checkin: dict[str, Any] | None

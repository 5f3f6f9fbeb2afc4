"""API shapes of orders, their lines and shipments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from fulfil.api_types import RequestModel
from fulfil.catalog.schemas import Gtin
from fulfil.exactly_one import ExactlyOneOf
from fulfil.money import Amount, Currency, UnitPrice
from fulfil.models import Channel, OrderStatus, ParcelStatus, ShipmentStatus
from fulfil.tracking.schemas import TrackingLinkRead

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
    unit_price: UnitPrice | None = Field(
        default=None,
        description='Price of one unit in the order\'s `currency`, as a string such as "19.90" (a JSON number is refused): '
        "what a return of the unit refunds. Optional; lines of the same GTIN must carry the same price (or none).",
    )


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
    currency: Currency | None = Field(default=None, description="ISO 4217 currency of the lines' unit prices; required when a line has one.")
    lines: list[OrderLineCreate] = Field(min_length=1, max_length=MAX_LINES)
    hold_id: str | None = Field(
        default=None, max_length=64,
        description="A checkout hold (POST /promise with hold_seconds) whose units this order takes: same destination kind "
        "(and pickup store); units beyond the hold are routed as usual, held units the order does not need are released.",
    )

    @model_validator(mode="after")
    def _one_line_per_gtin(self) -> Self:
        """Lines of the same GTIN (however it was spelled) become one line, in the order they first appear, so the
        order, its shipments and its retries all count each product once. Lines of one product at different prices
        are left apart, for the service to refuse (a rule the schema cannot say: fulfil.orders.service)."""
        merged: dict[tuple[str, Decimal | None], int] = {}
        for line in self.lines:
            merged[(line.gtin, line.unit_price)] = merged.get((line.gtin, line.unit_price), 0) + line.qty
        if len(merged) < len(self.lines):
            # The cap is per line as sent; a merged line may exceed it (at most MAX_LINES x MAX_LINE_QTY units).
            self.lines = [OrderLineCreate.model_construct(gtin=g, qty=q, unit_price=p) for (g, p), q in merged.items()]
        return self

    @model_validator(mode="after")
    def _currency_of_prices(self) -> Self:
        """A price means nothing without its currency."""
        if self.currency is None and any(line.unit_price is not None for line in self.lines):
            raise ValueError("currency is required when a line has a unit_price")
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """The schema says the currency rule too: a currency, or no line with a price."""
        schema = super().__get_pydantic_json_schema__(core_schema, handler)
        target = handler.resolve_ref_schema(schema)
        target["anyOf"] = [
            {"required": ["currency"], "properties": {"currency": {"not": {"type": "null"}}}},
            {"properties": {"lines": {"items": {"properties": {"unit_price": {"type": "null"}}}}}},
        ]
        return schema


class OrderLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_no: int
    gtin: str
    qty: int
    unit_price: Amount | None = Field(description="Price of one unit in the order's currency; null when none was given.")
    cancelled_qty: int = Field(description="Units of the line cancelled: no longer to fulfil.")
    returned_qty: int = Field(description="Units the customer returned (any grade).")


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
    # Picking: who holds the shipment (nobody else may pick it) and since when.
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    # Packing: the pack-station zone whose reader verifies the parcel.
    pack_station: str | None = None


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
    currency: str | None = Field(description="ISO 4217 currency of the lines' unit prices.")
    cancel_reason: str | None = Field(description="Why the order was cancelled (a cancelled order only).")
    cancelled_at: datetime | None
    created_at: datetime
    updated_at: datetime
    lines: list[OrderLineRead]
    shipments: list[ShipmentRead]
    pickup: PickupCodeRead | None = Field(default=None, description="Click and collect, ops tokens only: the customer's pickup code.")
    checked_in_at: datetime | None = Field(default=None, description="Curbside: when the customer said they were here.")
    checkin: dict[str, Any] | None = Field(default=None, description="Curbside: bay, car, note.")
    tracking: TrackingLinkRead | None = Field(default=None, description="Ops and channel tokens only: the customer's tracking token.")
    held_at: datetime | None = Field(default=None, description="Held by ops since then (null: not held): no picking starts, nothing ships.")
    held_until: datetime | None = Field(default=None, description="The hold ends then (null while held: until released).")
    hold_reason: str | None = None


class HoldRequest(RequestModel):
    reason: str = Field(min_length=3, max_length=300, description="Why the order waits (kept with it and in its journal).")
    until: AwareDatetime | None = Field(default=None, description="The hold ends by itself then; absent: until released.")


class OrderSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str
    channel: Channel
    status: OrderStatus
    pickup_location_id: str | None
    origin_location_id: str | None
    created_at: datetime


class ProductUnits(RequestModel):
    gtin: Gtin
    qty: int = Field(ge=1, le=MAX_LINE_QTY, description="Units of this product.")


class CancelRequest(RequestModel):
    reason: str = Field(min_length=1, max_length=500, description="Why: told to the stores concerned and kept for the customer's notice.")
    lines: list[ProductUnits] | None = Field(
        default=None, min_length=1, max_length=MAX_LINES,
        description="The units to cancel; leave out to cancel the whole order (every part that has not left). "
        "Cancelling lines needs an Idempotency-Key header (428 without one).",
    )

    def wanted(self) -> dict[str, int] | None:
        """Units to cancel per GTIN; None: the whole order."""
        return None if self.lines is None else units_per_gtin(self.lines)


def units_per_gtin(lines: list[ProductUnits]) -> dict[str, int]:
    """Units per GTIN, in first-seen order: lines of the same GTIN (however it was spelled) add up."""
    merged: dict[str, int] = {}
    for line in lines:
        merged[line.gtin] = merged.get(line.gtin, 0) + line.qty
    return merged


class CancelledLine(BaseModel):
    gtin: str
    qty: int = Field(description="Units of this product cancelled by this request.")
    put_back_task_ids: list[int] = Field(description="Put-back tasks opened for units already picked or packed (confirm at the store).")


class CancellationResult(BaseModel):
    order: OrderRead
    cancellation_id: int | None = Field(description="The cancellation kept (None: nothing was cancelled and no Idempotency-Key was sent).")
    whole: bool = Field(description="The whole order was asked to be cancelled (no lines given).")
    cancelled: list[CancelledLine] = Field(description="What this request cancelled (empty: nothing was left to cancel).")
    put_back_task_ids: list[int]
    replayed: bool = Field(
        description="Nothing changed now: this Idempotency-Key was applied before (its result is returned), or the whole "
        "order had nothing left to cancel."
    )

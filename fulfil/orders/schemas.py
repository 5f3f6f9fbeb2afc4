"""API shapes of orders, their lines and shipments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from fulfil.api_types import RequestModel
from fulfil.catalog.schemas import Gtin
from fulfil.exactly_one import ExactlyOneOf
from fulfil.money import Amount, Currency, UnitPrice
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
    cancelled_qty: int = Field(description="Units cancelled: no longer to fulfil.")
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
    created_at: datetime
    updated_at: datetime
    lines: list[OrderLineRead]
    shipments: list[ShipmentRead]


class OrderSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str
    channel: Channel
    status: OrderStatus
    pickup_location_id: str | None
    origin_location_id: str | None
    created_at: datetime

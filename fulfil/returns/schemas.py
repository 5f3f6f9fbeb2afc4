"""API shapes of customer returns."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Self

from pydantic import BaseModel, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from fulfil.api_types import MAX_ID, RequestModel
from fulfil.catalog.schemas import Gtin
from fulfil.models import ReturnGrade
from fulfil.money import Amount
from fulfil.orders.schemas import MAX_LINE_QTY, MAX_LINES
from fulfil.tags.schemas import Epc


class ReturnReason(enum.StrEnum):
    """Why the customer sent the item back (a closed set, for reports)."""

    TOO_SMALL = "too_small"
    TOO_LARGE = "too_large"
    NOT_AS_DESCRIBED = "not_as_described"
    DEFECTIVE = "defective"
    DAMAGED_IN_TRANSIT = "damaged_in_transit"
    WRONG_ITEM = "wrong_item"
    ARRIVED_LATE = "arrived_late"
    CHANGED_MIND = "changed_mind"
    OTHER = "other"


class ReturnEpcItem(RequestModel):
    """One tagged item, by its EPC: the tag says which product and which shipment it left with."""

    epc: Epc
    grade: ReturnGrade = Field(description="`resellable`: back into the location's stock at once; `damaged`: into quarantine.")
    reason: ReturnReason


class ReturnGtinItem(RequestModel):
    """Units of a product without a readable tag, by GTIN."""

    gtin: Gtin
    qty: int = Field(default=1, ge=1, le=MAX_LINE_QTY)
    grade: ReturnGrade = Field(description="`resellable`: back into the location's stock at once; `damaged`: into quarantine.")
    reason: ReturnReason


class ReturnCreate(RequestModel):
    """A customer's return as the store (or the warehouse receiving a posted return) takes it in."""

    external_id: str = Field(
        min_length=1, max_length=128, pattern=r"^[\x21-\x7E]+$",
        description="The client's id of this return. Posting it again returns the same return, never a second one.",
    )
    location_id: str = Field(min_length=1, max_length=64, description="Where the items physically are now: a store or a warehouse.")
    order_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="The order the items came from.")
    pickup_code: str | None = Field(default=None, min_length=1, max_length=16, description="Or the order's pickup code.")
    items: list[ReturnEpcItem | ReturnGtinItem] = Field(
        min_length=1, max_length=MAX_LINES,
        description="What came back. With neither order_id nor pickup_code, every item must be an EPC, and the EPCs name the order.",
    )

    @model_validator(mode="after")
    def _the_order_is_named(self) -> Self:
        """At most one order reference; none only when the items' tags name the order."""
        if self.order_id is not None and self.pickup_code is not None:
            raise ValueError("give at most one of order_id or pickup_code")
        if self.order_id is None and self.pickup_code is None and any(isinstance(i, ReturnGtinItem) for i in self.items):
            raise ValueError("name the order (order_id or pickup_code) when an item is given by GTIN: only a tag names its order")
        return self

    @model_validator(mode="after")
    def _epcs_in_upper_case(self) -> Self:
        """EPCs as tags store them, so the same tag spelled twice is the same tag (and the same fingerprint)."""
        self.items = [item.model_copy(update={"epc": item.epc.upper()}) if isinstance(item, ReturnEpcItem) else item for item in self.items]
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """The order reference rule, as the schema says it: one of order_id or pickup_code, or neither and only EPCs."""
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        not_null, null = {"not": {"type": "null"}}, {"type": "null"}
        target["oneOf"] = [
            {"required": ["order_id"], "properties": {"order_id": not_null, "pickup_code": null}},
            {"required": ["pickup_code"], "properties": {"pickup_code": not_null, "order_id": null}},
            {"properties": {"order_id": null, "pickup_code": null, "items": {"items": {"not": {"required": ["gtin"]}}}}},
        ]
        return schema


class ReturnLineRead(BaseModel):
    line_no: int = Field(description="The order line the units came from.")
    gtin: str
    epc: str | None
    qty: int
    grade: ReturnGrade
    reason: str
    unit_price: Amount | None = Field(description="The order line's unit price; null when it had none.")


class ReturnRead(BaseModel):
    id: int
    external_id: str
    order_id: int
    order_external_id: str
    location_id: str = Field(description="Where the items came back (their stock landed there).")
    currency: str | None
    refund_due: Amount | None = Field(description="Σ qty × unit_price of the returned lines, in `currency`; null when a line has no price.")
    refund_note: str | None = Field(description="Why refund_due is null, when it is.")
    actor: str | None
    created_at: datetime
    lines: list[ReturnLineRead]

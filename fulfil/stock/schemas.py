"""API shapes of stock levels, adjustments and events."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from fulfil.api_types import RequestModel
from fulfil.catalog.schemas import Gtin
from fulfil.exactly_one import ExactlyOneOf
from fulfil.models import StockCause, StockEventKind, StockLevel
from fulfil.stock.rules import available, safety_uncovered
from fulfil.tags.schemas import Epc


class AdjustmentReason(enum.StrEnum):
    COUNT = "count"
    DAMAGE = "damage"
    RECEIPT = "receipt"
    RETURN = "return"
    THEFT = "theft"
    CORRECTION = "correction"
    OTHER = "other"


class StockLevelRead(BaseModel):
    location_id: str
    gtin: str
    on_hand: int
    reserved: int
    safety: int
    available: int = Field(description="on_hand - reserved - safety, never below 0: what routing may still promise.")
    safety_uncovered: int = Field(
        description="Units of safety stock that are not on the shelf: safety is set above what is on hand and unreserved. "
        "Safety may be set before stock arrives; this says how much of it is not there yet."
    )
    quarantined: int = Field(description="Units here that may not be sold (damaged returns and picks): outside on_hand.")
    updated_at: datetime

    @classmethod
    def of(cls, level: StockLevel) -> StockLevelRead:
        """Build from a model row, computing availability by the one rule."""
        return cls(
            location_id=level.location_id,
            gtin=level.gtin,
            on_hand=level.on_hand,
            reserved=level.reserved,
            safety=level.safety,
            available=available(level.on_hand, level.reserved, level.safety),
            safety_uncovered=safety_uncovered(level.on_hand, level.reserved, level.safety),
            quarantined=level.quarantined,
            updated_at=level.updated_at,
        )


def _not_zero(delta: int) -> int:
    if delta == 0:
        raise ValueError("delta must not be 0 (use set_on_hand to record a count that matches)")
    return delta


# Not zero, in the schema (`not: {const: 0}`) and in the check beside it.
Delta = Annotated[int, Field(ge=-1_000_000, le=1_000_000, json_schema_extra={"not": {"const": 0}}), AfterValidator(_not_zero)]


class StockAdjustmentCreate(ExactlyOneOf, RequestModel):
    exactly_one_of: ClassVar[tuple[str, ...]] = ("delta", "set_on_hand")

    location_id: str = Field(min_length=1, max_length=64)
    gtin: Gtin
    delta: Delta | None = Field(default=None, description="Change of on-hand units (not 0).")
    set_on_hand: int | None = Field(default=None, ge=0, le=10_000_000, description="A physical count: on-hand becomes this.")
    reason: AdjustmentReason
    note: str | None = Field(default=None, max_length=2000)


class SafetyUpdate(RequestModel):
    safety: int = Field(ge=0, le=1_000_000)
    note: str | None = Field(default=None, max_length=2000)


class StockEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    location_id: str
    gtin: str
    kind: StockEventKind
    cause: StockCause
    on_hand_delta: int
    reserved_delta: int
    safety_delta: int
    quarantine_delta: int
    on_hand_after: int
    reserved_after: int
    safety_after: int
    quarantined_after: int
    order_id: int | None
    shipment_id: int | None
    reader_id: str | None
    zone: str | None
    epc: str | None
    reason: str | None
    note: str | None
    actor: str | None


class StockAdjustmentResult(BaseModel):
    event: StockEventRead
    level: StockLevelRead
    replayed: bool = Field(description="True when this Idempotency-Key was already applied: nothing changed now.")


class QuarantineAction(enum.StrEnum):
    """How quarantined units leave quarantine."""

    DISPOSE = "dispose"  # written off after inspection: they leave the books
    RESTORE = "restore"  # inspected and fit to sell: back on hand, available at once


class QuarantineExit(ExactlyOneOf, RequestModel):
    exactly_one_of: ClassVar[tuple[str, ...]] = ("qty", "epcs")
    exactly_one_message: ClassVar[str] = "give exactly one of qty (a number of units) or epcs (the tagged units themselves)"

    location_id: str = Field(min_length=1, max_length=64)
    gtin: Gtin
    action: QuarantineAction
    qty: int | None = Field(default=None, ge=1, le=1_000_000, description="Units leaving quarantine.")
    epcs: list[Epc] | None = Field(
        default=None, min_length=1, max_length=1000,
        description="Or the tagged units themselves (each quarantined here): restored, a tag is in stock again; disposed, it "
        "belongs to no location any more.",
    )
    note: str | None = Field(default=None, max_length=2000, description="What the inspection found.")


class QuarantineResult(BaseModel):
    event: StockEventRead
    level: StockLevelRead
    epcs: list[str] = Field(description="The tags that left quarantine with the units (upper case).")
    replayed: bool = Field(description="True when this Idempotency-Key was already applied: nothing changed now.")

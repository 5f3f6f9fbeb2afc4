"""API shapes of promises (quotes) and checkout holds."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from fulfil.api_types import RequestModel
from fulfil.availability.schemas import MAX_RADIUS_KM
from fulfil.catalog.schemas import Gtin
from fulfil.models import HoldStatus

MAX_LINES = 100
MAX_LINE_QTY = 10_000
MAX_HOLD_SECONDS = 86_400
MAX_PICKUP_STORES = 20
HOLD_ID_PATTERN = r"^hold_[A-Za-z0-9_-]{16,34}$"
OPTION_PATTERN = r"^(delivery:(standard|fastest)|pickup:[A-Za-z0-9][A-Za-z0-9._-]{0,63})$"


class BasketLine(RequestModel):
    gtin: Gtin
    qty: int = Field(ge=1, le=MAX_LINE_QTY)


class Point(RequestModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class PickupNear(Point):
    radius_km: float = Field(default=25.0, gt=0, le=MAX_RADIUS_KM)
    max_stores: int = Field(default=5, ge=1, le=MAX_PICKUP_STORES, description="The nearest stores considered (those that can serve the basket are quoted).")


class PromiseRequest(RequestModel):
    """A basket and where it should go: home delivery (`ship_to`), pickup in stores near a point (`pickup_near`)
    and/or at one store (`pickup_location_id`), at least one of them; delivery and pickup may be asked together, as a
    checkout page shows both."""

    destinations: ClassVar[tuple[str, ...]] = ("ship_to", "pickup_near", "pickup_location_id")

    lines: list[BasketLine] = Field(min_length=1, max_length=MAX_LINES)
    ship_to: Point | None = Field(default=None, description="Home delivery to these coordinates.")
    pickup_near: PickupNear | None = Field(default=None, description="Click and collect at the stores near this point.")
    pickup_location_id: str | None = Field(default=None, max_length=64, description="Click and collect at this store.")
    hold_seconds: int | None = Field(
        default=None, ge=1, le=MAX_HOLD_SECONDS,
        description="Hold an option's units for this long (checkout), shortened to FULFIL_HOLD_MAX_SECONDS if longer (see the hold's "
        "expires_at). The order takes them by `hold_id`.",
    )
    hold_option: str | None = Field(
        default=None, pattern=OPTION_PATTERN, description="With hold_seconds: the option to hold (default: the first, the cheapest delivery or the nearest pickup)."
    )

    @model_validator(mode="after")
    def _somewhere(self) -> Self:
        if all(getattr(self, name) is None for name in self.destinations):
            raise ValueError("give ship_to, pickup_near or pickup_location_id (or delivery and pickup together)")
        if self.hold_option is not None and self.hold_seconds is None:
            raise ValueError("hold_option needs hold_seconds")
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """The two rules of _somewhere, in the schema: at least one destination; hold_option only with hold_seconds."""
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        somewhere = [{"required": [name], "properties": {name: {"not": {"type": "null"}}}} for name in cls.destinations]
        holding = [
            {"required": ["hold_seconds"], "properties": {"hold_seconds": {"not": {"type": "null"}}}},
            {"properties": {"hold_option": {"type": "null"}}},
        ]
        target["allOf"] = [{"anyOf": somewhere}, {"anyOf": holding}]
        return schema

    def basket(self) -> dict[str, int]:
        """Units per GTIN (lines of one GTIN merged), in first-seen order."""
        out: dict[str, int] = {}
        for line in self.lines:
            out[line.gtin] = out.get(line.gtin, 0) + line.qty
        return out


class ParcelLine(BaseModel):
    gtin: str
    qty: int


class ParcelQuote(BaseModel):
    location_id: str
    lines: list[ParcelLine]
    dispatch_date: date | None = Field(description="The local day it leaves its location (handling start after the cut-off, plus handling days).")
    arrival_date: date | None = Field(description="The day it reaches the customer (or the pickup store).")


class StoreInfo(BaseModel):
    id: str
    name: str
    address: dict[str, Any] | None
    opening_hours: dict[str, Any] | None
    timezone: str
    distance_km: float | None


class PromiseOption(BaseModel):
    option_id: str = Field(description="delivery:standard, delivery:fastest or pickup:<store>: what hold_option names.")
    method: Literal["delivery", "pickup"]
    cost: float = Field(description="The routing cost model's cost of serving it (parcels, distance, picking, splits).")
    split: bool = Field(description="More than one parcel.")
    locations: list[str] = Field(description="The locations that would serve it.")
    parcels: list[ParcelQuote]
    earliest_delivery: date | None = Field(default=None, description="Delivery: the day the last parcel arrives.")
    store: StoreInfo | None = Field(default=None, description="Pickup: where.")
    ready_at: datetime | None = Field(default=None, description="Pickup: when it can be collected.")
    ready_label: str | None = Field(default=None, description='Pickup: e.g. "ready today at 17:00", in the store\'s time.')
    from_store_stock: bool | None = Field(default=None, description="Pickup: served from the store's own shelves (no transfer).")


class Shortfall(BaseModel):
    gtin: str
    qty: int = Field(description="Units no location can promise.")


class HoldLine(BaseModel):
    location_id: str
    gtin: str
    qty: int


class HoldRead(BaseModel):
    id: str
    status: HoldStatus
    option_id: str
    expires_at: datetime
    lines: list[HoldLine]
    order_id: int | None = None


class PromiseResult(BaseModel):
    quoted_at: datetime
    options: list[PromiseOption] = Field(description="What the network can keep for the whole basket, delivery first, cheapest first.")
    delivery_shortfall: list[Shortfall] = Field(description="With ship_to: units no delivery can cover (then no delivery option is offered).")
    hold: HoldRead | None = Field(description="The hold made (hold_seconds), else null.")

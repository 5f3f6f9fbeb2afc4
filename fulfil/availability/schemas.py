"""API shapes of availability."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from fulfil.api_types import RequestModel
from fulfil.catalog.schemas import Gtin
from fulfil.models import LocationKind

MAX_GTINS = 200
MAX_LOCATIONS = 1_000
MAX_RADIUS_KM = 1_000.0

Bucket = Literal["in_stock", "limited_availability", "out_of_stock"]


class Near(RequestModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_km: float = Field(default=25.0, gt=0, le=MAX_RADIUS_KM, description="Stores within this distance (km).")


class AvailabilityQuery(RequestModel):
    """Many GTINs at many locations in one call."""

    gtins: list[Gtin] = Field(min_length=1, max_length=MAX_GTINS)
    location_ids: list[str] | None = Field(
        default=None, max_length=MAX_LOCATIONS, description="Only these locations (each listed even without stock); default: every location holding some."
    )
    near: Near | None = Field(default=None, description="Only stores near a point (each listed even without stock), nearest first.")


class Units(BaseModel):
    available: int = Field(description="Units that may be promised: on hand - reserved - safety, never below 0.")
    bucket: Bucket


class LocationAvailability(Units):
    location_id: str
    name: str
    kind: LocationKind
    pickup: bool = Field(description="Click and collect possible here (a store).")
    distance_km: float | None = Field(default=None, description="From `near`, when given.")


class ProductAvailability(BaseModel):
    gtin: str
    network: Units = Field(description="For delivery: every active location together.")
    locations: list[LocationAvailability]


class AvailabilityResult(BaseModel):
    items: list[ProductAvailability]

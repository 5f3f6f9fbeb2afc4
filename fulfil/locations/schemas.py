"""API shapes of locations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fulfil.api_types import FreeJson, PatchModel, RequestModel
from fulfil.models import LocationKind

LOCATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
MAX_CAPACITY = 1_000_000  # parcels per day
MAX_HOLD_DAYS = 90  # published pickup hold periods run from 2 to 14 days
MAX_PICK_COST = 10_000.0  # per unit: anything above is a typo, and routing would have to treat it as infinite


class LocationCreate(RequestModel):
    id: str = Field(pattern=LOCATION_ID_PATTERN, max_length=64, description="Stable code, e.g. DC-PARIS or ST-LYON-01.")
    name: str = Field(min_length=1, max_length=200)
    kind: LocationKind
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    address: FreeJson | None = None
    capacity_per_day: int | None = Field(default=None, ge=0, le=MAX_CAPACITY, description="Parcels it can prepare per day; null = no limit.")
    pick_cost_per_unit: float = Field(default=0.0, ge=0, le=MAX_PICK_COST, description="Cost of picking one unit here (currency units).")
    handling_days: int = Field(default=0, ge=0, le=30)
    opening_hours: FreeJson | None = Field(default=None, description='e.g. {"mon": [["09:00", "19:00"]]}')
    pickup_hold_days: int = Field(default=7, ge=1, le=MAX_HOLD_DAYS, description="Click and collect: days a ready pickup waits for the customer before it expires.")
    active: bool = True


class LocationUpdate(PatchModel):
    NULLABLE = frozenset({"address", "capacity_per_day", "opening_hours"})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    address: FreeJson | None = Field(default=None, description="null clears it.")
    capacity_per_day: int | None = Field(default=None, ge=0, le=MAX_CAPACITY, description="null = no limit.")
    pick_cost_per_unit: float | None = Field(default=None, ge=0, le=MAX_PICK_COST)
    handling_days: int | None = Field(default=None, ge=0, le=30)
    opening_hours: FreeJson | None = Field(default=None, description="null clears them.")
    pickup_hold_days: int | None = Field(default=None, ge=1, le=MAX_HOLD_DAYS, description="Applies to pickups made ready from now on.")
    active: bool | None = None


class LocationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: LocationKind
    lat: float
    lon: float
    address: dict[str, Any] | None
    capacity_per_day: int | None
    pick_cost_per_unit: float
    handling_days: int
    opening_hours: dict[str, Any] | None
    pickup_hold_days: int
    active: bool
    created_at: datetime
    updated_at: datetime

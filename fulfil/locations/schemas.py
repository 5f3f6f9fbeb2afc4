"""API shapes of locations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import re
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from zoneinfo import available_timezones

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, WithJsonSchema

from fulfil.api_types import FreeJson, PatchModel, RequestModel
from fulfil.models import LocationKind

LOCATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
MAX_CAPACITY = 1_000_000  # parcels per day
MAX_HOLD_DAYS = 90  # published pickup hold periods run from 2 to 14 days
MAX_PICK_COST = 10_000.0  # per unit: anything above is a typo, and routing would have to treat it as infinite


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOCK_PATTERN = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
_CLOCK = re.compile(CLOCK_PATTERN)
MAX_INTERVALS = 6
CUTOFF_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


def _opening_hours(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Opening hours as promises read them: {"mon": [["09:00", "12:00"], ["14:00", "19:00"]], ...}, local time; a day
    left out is closed; an interval that closes at or before it opens runs past midnight (["18:00", "02:00"])."""
    if value is None:
        return value
    for day, intervals in value.items():
        if day not in DAYS:
            raise ValueError(f"unknown day {day!r}: days are {', '.join(DAYS)}")
        if not isinstance(intervals, list) or len(intervals) > MAX_INTERVALS:
            raise ValueError(f"{day}: a list of at most {MAX_INTERVALS} [opens, closes] intervals")
        for interval in intervals:
            if not (isinstance(interval, list) and len(interval) == 2 and all(isinstance(t, str) and _CLOCK.fullmatch(t) for t in interval)):
                raise ValueError(f'{day}: each interval is ["HH:MM", "HH:MM"] (24:00 may close a day)')
    return value


def _zone(value: str | None) -> str | None:
    if value is None:
        return value
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}: an IANA name such as Europe/Paris") from None
    return value


_INTERVAL = {"type": "array", "items": {"type": "string", "pattern": CLOCK_PATTERN}, "minItems": 2, "maxItems": 2}
OpeningHours = Annotated[
    FreeJson, AfterValidator(_opening_hours),
    WithJsonSchema({
        "type": "object", "additionalProperties": False,
        "properties": {day: {"type": "array", "items": _INTERVAL, "maxItems": MAX_INTERVALS} for day in DAYS},
        "description": 'Local time, e.g. {"mon": [["09:00", "12:00"], ["14:00", "19:00"]]}; a day left out is closed; an interval '
        "that closes at or before it opens runs past midnight.",
    }),
]
ZONES = sorted(available_timezones())
TimeZone = Annotated[
    str, AfterValidator(_zone),
    WithJsonSchema({"type": "string", "enum": ZONES, "description": "IANA time zone of opening hours and cut-off, e.g. Europe/Paris."}),
]


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
    opening_hours: OpeningHours | None = Field(default=None, description="None at all: always open.")
    pickup_hold_days: int = Field(default=7, ge=1, le=MAX_HOLD_DAYS, description="Click and collect: days a ready pickup waits for the customer before it expires.")
    timezone: TimeZone = "UTC"
    cutoff_time: str | None = Field(
        default=None, pattern=CUTOFF_PATTERN, description="Local HH:MM after which an order is handled from the next open day (null: FULFIL_CUTOFF_TIME).",
    )
    active: bool = True


class LocationUpdate(PatchModel):
    NULLABLE = frozenset({"address", "capacity_per_day", "opening_hours", "cutoff_time", "paused_until"})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    address: FreeJson | None = Field(default=None, description="null clears it.")
    capacity_per_day: int | None = Field(default=None, ge=0, le=MAX_CAPACITY, description="null = no limit.")
    pick_cost_per_unit: float | None = Field(default=None, ge=0, le=MAX_PICK_COST)
    handling_days: int | None = Field(default=None, ge=0, le=30)
    opening_hours: OpeningHours | None = Field(default=None, description="null clears them (always open).")
    pickup_hold_days: int | None = Field(default=None, ge=1, le=MAX_HOLD_DAYS, description="Applies to pickups made ready from now on.")
    timezone: TimeZone | None = None
    cutoff_time: str | None = Field(default=None, pattern=CUTOFF_PATTERN, description="null: the service default (FULFIL_CUTOFF_TIME).")
    active: bool | None = None
    paused_until: AwareDatetime | None = Field(
        default=None, description="Pause it: no new parcel is routed here until then (its daily capacity counts as 0). null resumes it now.",
    )


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
    timezone: str
    cutoff_time: str | None
    active: bool
    paused_until: datetime | None = Field(default=None, description="Paused by ops until then: no new parcel is routed here.")
    created_at: datetime
    updated_at: datetime

"""Locations: warehouses and stores that hold stock and fulfil orders."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fulfil.models.base import Base, UTCDateTime, str_enum, utcnow


class LocationKind(enum.StrEnum):
    WAREHOUSE = "warehouse"
    STORE = "store"


class Location(Base):
    """A warehouse or store, identified by a stable code such as `DC-PARIS` or `ST-LYON-01`."""

    __tablename__ = "locations"
    __table_args__ = (
        CheckConstraint("lat BETWEEN -90 AND 90", name="lat_range"),
        CheckConstraint("lon BETWEEN -180 AND 180", name="lon_range"),
        CheckConstraint("capacity_per_day IS NULL OR capacity_per_day >= 0", name="capacity_nonneg"),
        CheckConstraint("pick_cost_per_unit >= 0", name="pick_cost_nonneg"),
        CheckConstraint("handling_days >= 0", name="handling_days_nonneg"),
        CheckConstraint("pickup_hold_days >= 1", name="pickup_hold_days_positive"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[LocationKind] = mapped_column(str_enum(LocationKind, "location_kind"))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    capacity_per_day: Mapped[int | None] = mapped_column(Integer, default=None)
    pick_cost_per_unit: Mapped[float] = mapped_column(Float, default=0.0)
    handling_days: Mapped[int] = mapped_column(Integer, default=0)
    opening_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    pickup_hold_days: Mapped[int] = mapped_column(Integer, default=7)  # an uncollected pickup expires after this
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")  # IANA zone of opening_hours and cutoff_time
    # Orders placed after this local time are handled from the next opening day (None: the service default).
    cutoff_time: Mapped[str | None] = mapped_column(String(5), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Paused by ops until then (a stock take, a shortage of staff, a refit): it prepares no new parcel meanwhile.
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The change number of the last change to a field the local inventory feed depends on (fulfil.models.feed).
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

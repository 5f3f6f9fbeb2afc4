"""Shipments (one order served from one location), their lines and parcels."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fulfil.models.base import Base, UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from fulfil.models.order import Order


class ShipmentStatus(enum.StrEnum):
    ASSIGNED = "assigned"
    PICKING = "picking"
    PICKED = "picked"
    PACKED = "packed"
    VERIFIED = "verified"
    SHIPPED = "shipped"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # re-routed before any work started: replaced by another shipment


class Shipment(Base):
    """The part of an order a location fulfils in one parcel. Status moves by fulfil.shipments.states."""

    __tablename__ = "shipments"
    __table_args__ = (Index("ix_shipments_location_status", "location_id", "status"), Index("ix_shipments_order", "order_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"))
    status: Mapped[ShipmentStatus] = mapped_column(str_enum(ShipmentStatus, "shipment_status"), default=ShipmentStatus.ASSIGNED)
    rejection_reason: Mapped[str | None] = mapped_column(Text, default=None)
    pack_station: Mapped[str | None] = mapped_column(String(64), default=None)  # zone where it is being packed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    order: Mapped[Order] = relationship(back_populates="shipments", lazy="raise")
    lines: Mapped[list[ShipmentLine]] = relationship(
        back_populates="shipment", lazy="raise", order_by="ShipmentLine.id", cascade="all, delete-orphan"
    )
    parcels: Mapped[list[Parcel]] = relationship(back_populates="shipment", lazy="raise", order_by="Parcel.id")


class ShipmentLine(Base):
    """Units of one order line that a shipment carries."""

    __tablename__ = "shipment_lines"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("picked_qty >= 0 AND picked_qty <= qty", name="picked_within_qty"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    gtin: Mapped[str] = mapped_column(ForeignKey("products.gtin"))
    qty: Mapped[int] = mapped_column(Integer)
    picked_qty: Mapped[int] = mapped_column(Integer, default=0)

    shipment: Mapped[Shipment] = relationship(back_populates="lines", lazy="raise")


class ParcelStatus(enum.StrEnum):
    OPEN = "open"
    SEALED = "sealed"
    VERIFIED = "verified"
    SHIPPED = "shipped"


class Parcel(Base):
    """A physical parcel identified by its SSCC-18, carrying one shipment."""

    __tablename__ = "parcels"
    __table_args__ = (CheckConstraint("length(sscc) = 18", name="sscc_length"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sscc: Mapped[str] = mapped_column(String(18), unique=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    status: Mapped[ParcelStatus] = mapped_column(str_enum(ParcelStatus, "parcel_status"), default=ParcelStatus.OPEN)
    carrier_ref: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    shipment: Mapped[Shipment] = relationship(back_populates="parcels", lazy="raise")


class ParcelVerification(Base):
    """An RFID verdict on a parcel being packed: what the pack-station antennas saw against what was ordered."""

    __tablename__ = "parcel_verifications"
    __table_args__ = (Index("ix_parcel_verifications_location", "location_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    parcel_id: Mapped[int | None] = mapped_column(ForeignKey("parcels.id"), default=None)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"))
    station: Mapped[str] = mapped_column(String(64))
    complete: Mapped[bool] = mapped_column(Boolean)
    verdict: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

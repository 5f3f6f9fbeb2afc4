"""Shipments (one order served from one location), their lines and parcels."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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
    SHIPPED = "shipped"  # home delivery: the parcel left for the customer
    IN_TRANSIT = "in_transit"  # ship-to-store: the parcel left for the pickup store
    RECEIVED = "received"  # ship-to-store: the pickup store has the parcel
    READY_FOR_PICKUP = "ready_for_pickup"  # click and collect: staged, the customer is told
    COLLECTED = "collected"  # click and collect: handed to the customer
    EXPIRED = "expired"  # click and collect: not collected within the store's hold period
    CANCELLED = "cancelled"  # the order (or these units) was cancelled before the parcel left
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # re-routed before any work started: replaced by another shipment


class Shipment(Base):
    """The part of an order a location fulfils in one parcel. Status moves by fulfil.shipments.states."""

    __tablename__ = "shipments"
    __table_args__ = (
        Index("ix_shipments_location_status", "location_id", "status"),
        Index("ix_shipments_order", "order_id"),
        Index("ix_shipments_pickup_status", "pickup_location_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"))  # the location that picks and packs it
    # Where the shipment's units are held now (their reservation lives in this location's stock): the serving
    # location, then the pickup store once a ship-to-store parcel is received there.
    held_at: Mapped[str] = mapped_column(ForeignKey("locations.id"))
    pickup_location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id"), default=None)  # click and collect
    status: Mapped[ShipmentStatus] = mapped_column(str_enum(ShipmentStatus, "shipment_status"), default=ShipmentStatus.ASSIGNED)
    rejection_reason: Mapped[str | None] = mapped_column(Text, default=None)
    pack_station: Mapped[str | None] = mapped_column(String(64), default=None)  # zone where it is being packed
    # Who is picking it (fulfil.shipments.scans): a staff member (any of their sessions), else a token; others are
    # refused until ops release the claim.
    claimed_by: Mapped[str | None] = mapped_column(String(160), default=None)  # the claimant's name, as shown to others
    claimed_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"), default=None)
    claimed_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # ready for pickup since
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # uncollected pickup expires then
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # pickup reminder recorded
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
    RECEIVED = "received"  # ship-to-store: arrived at the pickup store
    COLLECTED = "collected"  # handed to the customer


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


class Handover(Base):
    """A click-and-collect parcel handed to the customer: once per shipment (a second handover is the same one or a
    conflict), with what the customer refused and how the handover was authorised."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"))
    request_hash: Mapped[str] = mapped_column(String(64))
    override_reason: Mapped[str | None] = mapped_column(Text, default=None)  # ops handed over without the code
    refused: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{gtin, qty, damaged, reason}]
    actor: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShortReason(enum.StrEnum):
    NOT_FOUND = "not_found"  # not on the shelf: on-hand is counted down and a cycle count raised
    DAMAGED = "damaged"  # found damaged: moved to quarantine


class ShortPick(Base):
    """Units a location could not pick for a shipment: split off and routed elsewhere, never back here for that product."""

    __tablename__ = "short_picks"
    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"), Index("ix_short_picks_order", "order_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"))
    gtin: Mapped[str] = mapped_column(ForeignKey("products.gtin"))
    qty: Mapped[int] = mapped_column(Integer)
    reason: Mapped[ShortReason] = mapped_column(str_enum(ShortReason, "short_reason"))
    actor: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShortPickRequest(Base):
    """A short pick as asked, once per shipment and Idempotency-Key: a retry answers what the first one did (the
    units shorted, the re-routing it caused) and changes nothing."""

    __tablename__ = "short_pick_requests"
    __table_args__ = (UniqueConstraint("shipment_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    routing_decision_id: Mapped[int | None] = mapped_column(ForeignKey("routing_decisions.id"), default=None)
    new_shipment_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # shipments the re-routing created
    actor: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScanOutcome(enum.StrEnum):
    ACCEPTED = "accepted"
    WRONG_ITEM = "wrong_item"  # a product the shipment does not carry
    ALREADY_COMPLETE = "already_complete"  # one too many: every unit of that product is picked
    DUPLICATE_ITEM = "duplicate_item"  # an RFID tag already counted in this shipment
    NOT_AN_ITEM = "not_an_item"  # a parcel label (SSCC)
    UNREADABLE = "unreadable"  # not a GTIN, element string or EPC


class ShipmentScan(Base):
    """One scan made while picking a shipment, accepted or refused; `scan_id` (the device's) makes it count once."""

    __tablename__ = "shipment_scans"
    __table_args__ = (
        UniqueConstraint("shipment_id", "scan_id"),
        Index("ix_shipment_scans_epc", "shipment_id", "epc"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    scan_id: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(128))  # what the scanner typed (trimmed, capped)
    gtin: Mapped[str | None] = mapped_column(String(14), default=None)
    epc: Mapped[str | None] = mapped_column(String(64), default=None)
    outcome: Mapped[ScanOutcome] = mapped_column(str_enum(ScanOutcome, "scan_outcome"))
    message: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(160))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

"""Stock per (location, GTIN) and the append-only event log that explains every change to it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from fulfil.models.base import Base, BigId, UTCDateTime, str_enum, utcnow


class StockLevel(Base):
    """What a location holds of one product. The availability rule lives in fulfil.stock.rules."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_nonneg"),
        CheckConstraint("reserved >= 0", name="reserved_nonneg"),
        CheckConstraint("safety >= 0", name="safety_nonneg"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("quarantined >= 0", name="quarantined_nonneg"),
        Index("ix_stock_levels_gtin", "gtin"),
    )

    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    gtin: Mapped[str] = mapped_column(ForeignKey("products.gtin"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    safety: Mapped[int] = mapped_column(Integer, default=0)
    # Units at the location that may not be sold (damaged returns, damaged short picks): outside on_hand.
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Change numbers for the local inventory feed (fulfil.models.feed): the last change of what may be advertised
    # here (available units, clamped at 0), and the last time this location started or stopped having any to offer
    # (which changes other stores' ship-to-store rows of the product).
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    source_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class StockEventKind(enum.StrEnum):
    RECEIPT = "receipt"
    ADJUSTMENT = "adjustment"
    RESERVATION = "reservation"
    RELEASE = "release"
    PICK = "pick"
    SHIPMENT = "shipment"
    SALE = "sale"
    LOSS = "loss"
    RETURN = "return"
    SAFETY = "safety"
    QUARANTINE = "quarantine"  # units moved out of sellable stock into quarantine (or quarantine disposed of)
    COLLECTION = "collection"  # a click-and-collect parcel handed to the customer


class StockCause(enum.StrEnum):
    ORDER = "order"
    READER = "reader"
    MANUAL = "manual"
    SYSTEM = "system"


class StockEvent(Base):
    """One movement of stock with its cause. Never updated or deleted (enforced below)."""

    __tablename__ = "stock_events"
    __table_args__ = (
        Index("ix_stock_events_location_gtin", "location_id", "gtin", "id"),
        Index("ix_stock_events_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"))
    gtin: Mapped[str] = mapped_column(ForeignKey("products.gtin"))
    kind: Mapped[StockEventKind] = mapped_column(str_enum(StockEventKind, "stock_event_kind"))
    cause: Mapped[StockCause] = mapped_column(str_enum(StockCause, "stock_cause"))
    on_hand_delta: Mapped[int] = mapped_column(Integer, default=0)
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0)
    safety_delta: Mapped[int] = mapped_column(Integer, default=0)
    quarantine_delta: Mapped[int] = mapped_column(Integer, default=0)
    on_hand_after: Mapped[int] = mapped_column(Integer)
    reserved_after: Mapped[int] = mapped_column(Integer)
    safety_after: Mapped[int] = mapped_column(Integer)
    quarantined_after: Mapped[int] = mapped_column(Integer, default=0)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), default=None)
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"), default=None)
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("stock_holds.id"), default=None)  # a checkout hold's units
    reader_id: Mapped[str | None] = mapped_column(String(128), default=None)
    zone: Mapped[str | None] = mapped_column(String(64), default=None)
    epc: Mapped[str | None] = mapped_column(String(64), default=None)
    reason: Mapped[str | None] = mapped_column(String(64), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    actor: Mapped[str | None] = mapped_column(String(128), default=None)
    # Deterministic key of the effect (e.g. reader event id): the same effect is never applied twice.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    # Fingerprint of the request that first used the key (API adjustments): the key reused for another is a conflict.
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)


class AppendOnlyViolation(RuntimeError):
    """Raised when code tries to change or delete a stock event."""


@event.listens_for(StockEvent, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: StockEvent) -> None:
    raise AppendOnlyViolation(f"stock event {target.id} is append-only")


@event.listens_for(StockEvent, "before_delete")
def _refuse_delete(_mapper: Any, _connection: Any, target: StockEvent) -> None:
    raise AppendOnlyViolation(f"stock event {target.id} is append-only")

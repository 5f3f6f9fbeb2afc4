"""Checkout holds: units reserved for a customer's basket for a few minutes, until the order consumes them or they
expire (fulfil.holds)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fulfil.models.base import Base, UTCDateTime, str_enum, utcnow


class HoldStatus(enum.StrEnum):
    ACTIVE = "active"  # its units are reserved until expires_at
    CONSUMED = "consumed"  # an order took its units
    RELEASED = "released"  # the channel gave it up
    EXPIRED = "expired"  # nobody ordered in time: its units went back, exactly once


class StockHold(Base):
    """A promise quote turned into reserved units. Only the token that made it may consume or release it."""

    __tablename__ = "stock_holds"
    __table_args__ = (
        Index("ix_stock_holds_status_expires", "status", "expires_at"),
        CheckConstraint(
            "(ship_to_lat IS NOT NULL AND ship_to_lon IS NOT NULL AND pickup_location_id IS NULL)"
            " OR (pickup_location_id IS NOT NULL AND ship_to_lat IS NULL AND ship_to_lon IS NULL)",
            name="one_destination",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # hold_<random>: what the channel sees
    status: Mapped[HoldStatus] = mapped_column(str_enum(HoldStatus, "hold_status"), default=HoldStatus.ACTIVE)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"))
    option: Mapped[str] = mapped_column(String(80))  # the quoted option held, e.g. delivery:standard, pickup:ST-LYON-01
    pickup_location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id"), default=None)
    ship_to_lat: Mapped[float | None] = mapped_column(Float, default=None)
    ship_to_lon: Mapped[float | None] = mapped_column(Float, default=None)
    basket: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{gtin, qty}] as quoted
    quote: Mapped[dict[str, Any]] = mapped_column(JSON)  # the option as quoted (dates, cost, locations)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), default=None)  # the order that consumed it

    lines: Mapped[list[StockHoldLine]] = relationship(
        back_populates="hold", lazy="raise", order_by="StockHoldLine.id", cascade="all, delete-orphan"
    )


class StockHoldLine(Base):
    """Units of one product a hold keeps reserved at one location."""

    __tablename__ = "stock_hold_lines"
    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"), Index("ix_stock_hold_lines_hold", "hold_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hold_id: Mapped[int] = mapped_column(ForeignKey("stock_holds.id", ondelete="CASCADE"))
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"))
    gtin: Mapped[str] = mapped_column(ForeignKey("products.gtin"))
    qty: Mapped[int] = mapped_column(Integer)

    hold: Mapped[StockHold] = relationship(back_populates="lines", lazy="raise")

"""Customer orders from the web shop or a store, and their lines."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fulfil.models.base import Base, UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from fulfil.models.shipment import Shipment


class Channel(enum.StrEnum):
    WEB = "web"
    STORE = "store"


class OrderStatus(enum.StrEnum):
    RECEIVED = "received"  # taken in, not yet routed
    ROUTED = "routed"  # every unit assigned to a shipment
    PARTIALLY_ROUTED = "partially_routed"  # some units could not be assigned
    UNFILLABLE = "unfillable"  # nothing could be assigned
    FULFILLING = "fulfilling"  # at least one shipment is being picked or packed
    SHIPPED = "shipped"  # every shipment has left
    CANCELLED = "cancelled"


class Order(Base):
    """An order as the client sent it, idempotent by the client's `external_id`."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(
            "(ship_to_lat IS NOT NULL AND ship_to_lon IS NOT NULL AND pickup_location_id IS NULL)"
            " OR (pickup_location_id IS NOT NULL AND ship_to_lat IS NULL AND ship_to_lon IS NULL)",
            name="one_destination",
        ),
        CheckConstraint("promise_days IS NULL OR promise_days >= 0", name="promise_days_nonneg"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "order_channel"))
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus, "order_status"), default=OrderStatus.RECEIVED)
    customer_ref: Mapped[str | None] = mapped_column(String(128), default=None)
    ship_to: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # name, address lines, city, postcode, country
    ship_to_lat: Mapped[float | None] = mapped_column(Float, default=None)
    ship_to_lon: Mapped[float | None] = mapped_column(Float, default=None)
    pickup_location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id"), default=None)
    origin_location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id"), default=None)  # store that took it
    promise_days: Mapped[int | None] = mapped_column(Integer, default=None)
    request_hash: Mapped[str] = mapped_column(String(64))  # detects a reused client id with another body
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", lazy="raise", order_by="OrderLine.line_no", cascade="all, delete-orphan"
    )
    shipments: Mapped[list[Shipment]] = relationship(back_populates="order", lazy="raise", order_by="Shipment.id")


class OrderLine(Base):
    """A quantity of one product within an order."""

    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "line_no"),
        CheckConstraint("qty > 0", name="qty_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    gtin: Mapped[str] = mapped_column(ForeignKey("products.gtin"))
    qty: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="lines", lazy="raise")

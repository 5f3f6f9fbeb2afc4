"""Customer orders from the web shop or a store, and their lines."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

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
    SHIPPED = "shipped"  # every shipment has left (home delivery)
    READY_FOR_PICKUP = "ready_for_pickup"  # click and collect: every part is at the pickup store, some wait for the customer
    COLLECTED = "collected"  # click and collect: every part was handed to the customer
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
    currency: Mapped[str | None] = mapped_column(String(3), default=None)  # ISO 4217, of the lines' unit prices
    # Click and collect: the short code the customer shows at handover (and checks in with at the curb).
    pickup_code: Mapped[str | None] = mapped_column(String(16), unique=True, default=None)
    # What the customer's tracking link carries (GET /api/v1/track/{token}): unguessable, every order has one.
    tracking_token: Mapped[str] = mapped_column(String(32), unique=True)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # curbside: "I'm here"
    checkin: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # curbside: bay, car description
    cancel_reason: Mapped[str | None] = mapped_column(Text, default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Held by ops (a fraud check, the customer asked to wait): no picking starts and nothing ships meanwhile.
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # None: not held
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # None: until released
    hold_reason: Mapped[str | None] = mapped_column(Text, default=None)
    request_hash: Mapped[str] = mapped_column(String(64))  # detects a reused client id with another body
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"), default=None)  # who placed it (a channel reads its own)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def on_hold(self, now: datetime) -> bool:
        """Whether ops hold the order now (POST /orders/{id}/hold)."""
        return self.held_at is not None and (self.held_until is None or self.held_until > now)

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
        CheckConstraint("cancelled_qty >= 0 AND cancelled_qty <= qty", name="cancelled_within_qty"),
        CheckConstraint("unit_price IS NULL OR unit_price >= 0", name="unit_price_nonneg"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    gtin: Mapped[str] = mapped_column(ForeignKey("products.gtin"))
    qty: Mapped[int] = mapped_column(Integer)
    cancelled_qty: Mapped[int] = mapped_column(Integer, default=0)  # units cancelled: no longer to fulfil
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), default=None)  # in the order's currency
    if TYPE_CHECKING:
        returned_qty: Mapped[int]  # units returned, any grade: the sum of its return lines (set below ReturnLine)

    order: Mapped[Order] = relationship(back_populates="lines", lazy="raise")


class OrderCancellation(Base):
    """A cancellation of a whole order or some of its units, as asked: a retry with the same key is the same one."""

    __tablename__ = "order_cancellations"
    __table_args__ = (UniqueConstraint("order_id", "idempotency_key"), Index("ix_order_cancellations_order", "order_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(128), default=None)
    request_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # what was cancelled: [{gtin, qty}]
    actor: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReturnGrade(enum.StrEnum):
    RESELLABLE = "resellable"  # back into the receiving location's sellable stock at once
    DAMAGED = "damaged"  # into quarantine: counted, not sellable


class Return(Base):
    """Items of an order brought back to a store, or posted back to a warehouse; idempotent by the client's id."""

    __tablename__ = "returns"
    __table_args__ = (Index("ix_returns_order", "order_id"), Index("ix_returns_location", "location_id", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"))  # where the items physically came back
    request_hash: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    refund_due: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), default=None)  # None: some line had no price
    actor: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[ReturnLine]] = relationship(back_populates="return_", lazy="raise", order_by="ReturnLine.id", cascade="all, delete-orphan")


class ReturnLine(Base):
    """Units of one order line returned, with their grade; an EPC is returned at most once per order line."""

    __tablename__ = "return_lines"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("epc IS NULL OR qty = 1", name="one_unit_per_epc"),
        UniqueConstraint("order_line_id", "epc"),
        Index("ix_return_lines_order_line", "order_line_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    gtin: Mapped[str] = mapped_column(ForeignKey("products.gtin"))
    epc: Mapped[str | None] = mapped_column(String(64), default=None)
    qty: Mapped[int] = mapped_column(Integer)
    grade: Mapped[ReturnGrade] = mapped_column(str_enum(ReturnGrade, "return_grade"))
    reason: Mapped[str] = mapped_column(String(64))
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), default=None)

    return_: Mapped[Return] = relationship(back_populates="lines", lazy="raise")


# Read with every order line, so no read model can show a line without what came back of it.
OrderLine.returned_qty = column_property(
    select(func.coalesce(func.sum(ReturnLine.qty), 0)).where(ReturnLine.order_line_id == OrderLine.id).correlate_except(ReturnLine).scalar_subquery()
)

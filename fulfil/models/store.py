"""A store's task queue (the tasks kept as rows) and the journal of business events (pages, customer notices)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fulfil.models.base import Base, BigId, UTCDateTime, str_enum, utcnow


class TaskKind(enum.StrEnum):
    PICK = "pick"  # a shipment to pick (derived from shipments)
    PUT_BACK = "put_back"  # units of a cancelled shipment to put back on the shelf (a row: it holds their reservation)
    CYCLE_COUNT = "cycle_count"  # count a product (a row: raised by a short pick)
    RECEIVE = "receive"  # a ship-to-store parcel on its way (derived from shipments)
    CURBSIDE = "curbside"  # a customer waiting at the curb (derived from orders)


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class StoreTask(Base):
    """A task a location must do that no other record holds: a put back (its units stay reserved until confirmed)
    or a cycle count. Pick, receive and curbside tasks are derived from shipments and orders (fulfil.tasks)."""

    __tablename__ = "store_tasks"
    __table_args__ = (
        CheckConstraint("qty IS NULL OR qty > 0", name="qty_positive"),
        Index("ix_store_tasks_location_status", "location_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"))
    kind: Mapped[TaskKind] = mapped_column(str_enum(TaskKind, "task_kind"))
    status: Mapped[TaskStatus] = mapped_column(str_enum(TaskStatus, "task_status"), default=TaskStatus.OPEN)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), default=None)
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"), default=None)
    gtin: Mapped[str | None] = mapped_column(ForeignKey("products.gtin"), default=None)
    qty: Mapped[int | None] = mapped_column(Integer, default=None)  # put back: units it holds reserved
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    done_by: Mapped[str | None] = mapped_column(String(128), default=None)


class DomainEvent(Base):
    """Something that happened to an order, a shipment or a store's work, in commit order: the locations' live
    streams carry them and customer notifications are made from them. Append-only."""

    __tablename__ = "domain_events"
    __table_args__ = (Index("ix_domain_events_location", "location_id", "id"), Index("ix_domain_events_order", "order_id", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(64))  # e.g. order.ready_for_pickup, pickup.checked_in, task.opened
    location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id"), default=None)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), default=None)
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

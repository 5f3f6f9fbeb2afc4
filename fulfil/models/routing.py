"""Routing decisions: which location serves (part of) an order, at what cost, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fulfil.models.base import Base, UTCDateTime, utcnow


class RoutingDecision(Base):
    """One routing of one order: the chosen locations, the cost, the alternatives and the reason."""

    __tablename__ = "routing_decisions"
    __table_args__ = (Index("ix_routing_decisions_order", "order_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    location_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # chosen locations, in shipment order
    cost: Mapped[float] = mapped_column(Float)
    alternatives: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text)
    explanation: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    solver: Mapped[str] = mapped_column(String(32))  # realtime, greedy, optimal, manual
    run_id: Mapped[int | None] = mapped_column(ForeignKey("routing_runs.id"), default=None)
    decided_by: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class RoutingRun(Base):
    """One batch (re-)optimisation or re-routing: what it was given, what it decided, how good and how fast."""

    __tablename__ = "routing_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # batch, reroute
    trigger: Mapped[str] = mapped_column(String(16))  # api, schedule, rejection
    status: Mapped[str] = mapped_column(String(16))  # running, done, failed
    solver: Mapped[str | None] = mapped_column(String(32), default=None)
    solver_status: Mapped[str | None] = mapped_column(String(32), default=None)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    shipments_before: Mapped[int] = mapped_column(Integer, default=0)
    shipments_after: Mapped[int] = mapped_column(Integer, default=0)
    moved: Mapped[int] = mapped_column(Integer, default=0)
    cost_before: Mapped[float | None] = mapped_column(Float, default=None)
    cost_after: Mapped[float | None] = mapped_column(Float, default=None)
    lower_bound: Mapped[float | None] = mapped_column(Float, default=None)
    split_orders: Mapped[int] = mapped_column(Integer, default=0)
    unfilled_units: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float | None] = mapped_column(Float, default=None)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    requested_by: Mapped[str | None] = mapped_column(String(128), default=None)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

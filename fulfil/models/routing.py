"""Routing decisions: which location serves (part of) an order, at what cost, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from fulfil.models.base import Base, UTCDateTime, utcnow


# What ops filter decisions by (GET /routing/decisions?tag=…), derived from the decision itself when it is written.
DECISION_TAGS = ("split", "unfilled", "promise_risk", "override", "rerouted", "batch", "hold")


def decision_tags(location_ids: list[str], explanation: dict[str, Any] | None, solver: str) -> list[str]:
    """A decision's tags: `split` (more than one location), `unfilled` (units no location could take),
    `promise_risk` (the promise date ruled out a cheaper location, or an order with a promise has units unfilled),
    `override` (ops forced a location), `rerouted` (it replaced shipments elsewhere), `batch` (a batch run moved it),
    `hold` (placed against a checkout hold)."""
    why = explanation or {}
    unfilled = why.get("unfilled") or {}
    tags = {
        "split": len(set(location_ids)) > 1,
        "unfilled": any(int(q) > 0 for q in unfilled.values()) if isinstance(unfilled, dict) else bool(unfilled),
        "promise_risk": any(isinstance(b, dict) and b.get("constraint") == "promise date" for b in why.get("binding") or [])
                        or (why.get("promise_days") is not None and bool(unfilled) and (not isinstance(unfilled, dict) or any(int(q) > 0 for q in unfilled.values()))),
        "override": solver == "manual",
        "rerouted": bool(why.get("previous_locations")),
        "batch": solver == "optimal",
        "hold": solver == "hold",
    }
    return [t for t in DECISION_TAGS if tags[t]]


class RoutingDecision(Base):
    """One routing of one order: the chosen locations, the cost, the alternatives and the reason."""

    __tablename__ = "routing_decisions"
    __table_args__ = (Index("ix_routing_decisions_order", "order_id", "id"), Index("ix_routing_decisions_created", "created_at"))

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
    # Written with the decision (see the before_insert listener below), for filtering in SQL on any database:
    # ",split,unfilled," and ",ST-LYON-01,DC-PARIS," (commas around each, so LIKE '%,split,%' matches one whole tag).
    tag_text: Mapped[str] = mapped_column(String(200), default="")
    places_text: Mapped[str] = mapped_column(Text, default="")

    @property
    def tags(self) -> list[str]:
        return [t for t in self.tag_text.split(",") if t]


@event.listens_for(RoutingDecision, "before_insert")
def _classify(_mapper: Any, _connection: Any, decision: RoutingDecision) -> None:
    decision.tag_text = delimited(decision_tags(list(decision.location_ids or []), decision.explanation, decision.solver))
    decision.places_text = delimited(sorted(set(decision.location_ids or [])))


def delimited(items: list[str]) -> str:
    return f",{','.join(items)}," if items else ""


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

"""API shapes of routing decisions and runs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from fulfil.api_types import RequestModel


class RoutingDecisionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    tags: list[str] = Field(description="split, unfilled, promise_risk (the promise ruled out a cheaper location, or units of a promised order are unfilled), override (ops forced "
                                         "a location), rerouted, batch (moved by a batch run), hold (placed against a checkout hold).")
    location_ids: list[str]
    cost: float
    alternatives: list[dict[str, Any]]
    reason: str
    explanation: dict[str, Any] | None = Field(description="chosen, cost, alternative (locations, cost, extra_cost), binding constraints, unfilled")
    solver: str
    run_id: int | None
    decided_by: str | None
    created_at: datetime
    superseded_at: datetime | None


class OrderRouting(BaseModel):
    order_id: int
    external_id: str
    status: str
    current: RoutingDecisionRead | None
    history: list[RoutingDecisionRead]


class RerouteRequest(RequestModel):
    exclude_locations: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=500, description="Never serve this order from these.")
    location_id: str | None = Field(default=None, max_length=64, description="Override: serve what can be served from this location only.")


class RunCreate(RequestModel):
    time_limit_seconds: float | None = Field(default=None, gt=0, le=300)
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Random seed of the solver's search (runs with the same seed and data agree).")


class RoutingRunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    trigger: str
    status: str
    solver: str | None
    solver_status: str | None
    orders: int
    shipments_before: int
    shipments_after: int
    moved: int
    cost_before: float | None
    cost_after: float | None
    lower_bound: float | None
    gap: float | None = Field(default=None, description="cost_after / lower_bound - 1 (how far from proven optimal, at most)")
    split_orders: int
    unfilled_units: int
    seconds: float | None
    details: dict[str, Any] | None
    error: str | None
    requested_by: str | None
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, run: Any) -> RoutingRunRead:
        """From a model row, with the gap computed."""
        read = cls.model_validate(run)
        if run.lower_bound and run.cost_after is not None and run.lower_bound > 0:
            read.gap = round(run.cost_after / run.lower_bound - 1, 6)
        return read

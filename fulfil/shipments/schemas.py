"""API shapes of shipments."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from fulfil.orders.schemas import ShipmentRead
from fulfil.routing_runs.schemas import RoutingDecisionRead


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, description="Why the location cannot fulfil it: short pick, damaged, ...")


class RejectResult(BaseModel):
    rejected: ShipmentRead
    rerouted: RoutingDecisionRead
    new_shipments: list[ShipmentRead]

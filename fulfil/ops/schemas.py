"""API shapes of the what-if replay (POST /api/v1/ops/whatif)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from fulfil.api_types import RequestModel

Solver = Literal["greedy", "optimised", "realtime"]
SafetyStock = Literal["recorded", "none"]
MAX_SPLIT_PENALTY = 10_000.0


class PolicyIn(RequestModel):
    solver: Solver = Field(description="greedy (the rule engine: whole order from the cheapest able location, first come first served), "
                                       "optimised (the batch optimiser, 8 seconds at most), realtime (order by order, the cheapest plan "
                                       "for each against what is left: what intake does).")
    split_penalty: float | None = Field(default=None, ge=0, le=MAX_SPLIT_PENALTY,
                                        description="The cost of each parcel beyond an order's first, for this policy; absent: the service's setting.")
    safety_stock: SafetyStock = Field(default="recorded", description="recorded: keep back the safety stock recorded at the window's start; none: use it all.")


class WhatIfRequest(RequestModel):
    since: AwareDatetime = Field(description="Start of the window (with its zone): the stock is rebuilt as it stood then.")
    until: AwareDatetime = Field(description="End of the window (excluded), at most 7 days after `since`.")
    a: PolicyIn
    b: PolicyIn
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Random seed of the optimiser (the same seed and data give the same plan).")


class WhatIfKpis(BaseModel):
    orders: int
    cost_per_order: float | None
    cost: float
    shipping: float | None = Field(description="null for `as decided`: a decision records its total only.")
    picking: float | None
    parcels: int
    split_orders: int
    split_rate: float | None
    unfilled_units: int
    promise_misses: int
    km_per_parcel: float | None


class PolicyRead(BaseModel):
    name: str = Field(description="A or B")
    solver: str
    safety_stock: str
    split_penalty: float
    kpis: WhatIfKpis
    objective: float = Field(description="Total cost under the policy's own split penalty (what it minimised).")
    solver_status: str
    seconds: float


class InstanceSize(BaseModel):
    orders: int
    units: int
    locations: int
    stock_items: int
    products: int
    days: int = Field(description="UTC days the window touches: the locations get a day's parcel capacity for each.")
    split_penalty: float = Field(description="The service's split penalty: every column's cost is measured with it.")


class AsDecided(BaseModel):
    undecided_orders: int = Field(description="Orders of the window without any routing decision (left out of this column).")
    kpis: WhatIfKpis


class WhatIfRead(BaseModel):
    since: datetime
    until: datetime
    instance: InstanceSize
    policies: list[PolicyRead]
    difference: dict[str, float | None] = Field(description="B − A for each KPI.")
    better: dict[str, Literal["A", "B"] | None] = Field(description="Which policy is better on each KPI (null: equal, or neither way is better).")
    as_decided: AsDecided | None = Field(description="What the service decided when the window's orders came in; null when it decided none.")
    definitions: dict[str, str]
    seconds: float

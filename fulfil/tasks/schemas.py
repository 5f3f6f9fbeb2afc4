"""API shapes of a store's task queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fulfil.api_types import RequestModel
from fulfil.models import TaskKind, TaskStatus


class TaskDone(RequestModel):
    counted: int | None = Field(
        default=None, ge=0, le=1_000_000,
        description="A cycle count only: the units of the product counted in the store. On-hand becomes this (a `count` "
        "adjustment; 409 when fewer than the units reserved there). Without it the count is confirmed as the books say.",
    )


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: TaskKind
    ref: str = Field(description="Stable reference: `task:<id>` (put back, cycle count), `shipment:<id>` (pick, receive), `order:<id>` (curbside).")
    task_id: int | None = Field(description="Put backs and cycle counts: confirm with POST /stores/{id}/tasks/{task_id}/done.")
    location_id: str
    status: TaskStatus
    since: datetime
    due: datetime | None = Field(
        default=None, description="When it should be done (the queue's order): a curbside arrival at once, a pick by its promised ready time or "
        "its dispatch cut-off, a parcel to receive soon after it arrives, chores a day after they were raised. null: as soon as possible.",
    )
    order_id: int | None
    shipment_id: int | None
    gtin: str | None
    qty: int | None
    reason: str | None
    detail: dict[str, Any]


class StoredTaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: TaskKind
    status: TaskStatus
    location_id: str
    order_id: int | None
    shipment_id: int | None
    gtin: str | None
    qty: int | None
    reason: str | None
    created_at: datetime
    done_at: datetime | None
    done_by: str | None

"""API shape of a business event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class BusinessEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    kind: str = Field(description="`<family>.<what>`: shipment.ready_for_pickup, order.cancelled, pickup.checked_in, task.opened, ...")
    location_id: str | None
    order_id: int | None
    shipment_id: int | None
    data: dict[str, Any]

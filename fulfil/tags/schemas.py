"""API shapes of tags and their anomalies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from fulfil.models import TagState


class TagAnomalyRead(BaseModel):
    """A sold or shipped tag seen at a location: where, when, by which reader, and in what state."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    epc: str
    gtin: str | None
    tag_state: TagState
    tag_version: int
    location_id: str
    zone: str
    reader_id: str | None
    reason: str
    seen_at: datetime
    created_at: datetime

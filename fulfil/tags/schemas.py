"""API shapes of tags and their anomalies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from fulfil.models import TagState

# An EPC as the API takes it: hex, as read from a tag (any case; stored upper case).
EPC_PATTERN = r"^[0-9A-Fa-f]{8,64}$"
Epc = Annotated[str, Field(pattern=EPC_PATTERN, description="An item's EPC (hex), as read from its RFID tag.")]


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

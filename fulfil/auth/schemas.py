"""API shapes of tokens (never their secrets, except once at creation)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from fulfil.api_types import RequestModel
from fulfil.models import Role


class TokenCreate(RequestModel):
    role: Role
    name: str = Field(min_length=1, max_length=128)
    location_id: str | None = Field(default=None, max_length=64, description="Required for pickers (their store) and devices (their location); not allowed for ops.")


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    location_id: str | None
    token_prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenIssued(TokenRead):
    secret: str = Field(description="The bearer token. Shown this once; only its hash is stored.")

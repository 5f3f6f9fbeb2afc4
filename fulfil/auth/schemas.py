"""API shapes of tokens (never their secrets, except once at creation)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from fulfil.api_types import BoundedModel
from fulfil.models import Role


class OpsTokenCreate(BoundedModel):
    """An ops token (the whole network) or a channel token (a web shop or app backend: availability, promises, holds
    and its own orders, network-wide): no location."""

    role: Literal[Role.OPS, Role.CHANNEL]
    name: str = Field(min_length=1, max_length=128)


class ScopedTokenCreate(BoundedModel):
    """A picker token (its store) or a device token (its location): always scoped to one location."""

    role: Literal[Role.PICKER, Role.DEVICE]
    name: str = Field(min_length=1, max_length=128)
    location_id: str = Field(min_length=1, max_length=64, description="The picker's store, or the device's location.")


# The role decides whether a location is required (picker, device) or refused (ops, channel): the schema says so too.
TokenCreate = Annotated[OpsTokenCreate | ScopedTokenCreate, Field(discriminator="role")]


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

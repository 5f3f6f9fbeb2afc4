"""API shapes of staff and sign-in (a PIN is accepted, never returned)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from fulfil.api_types import PatchModel, RequestModel

# 6 to 8 digits: with the lockout (docs/store-app.md) guessing a colleague's PIN is hopeless; 4 digits would not be.
PIN_PATTERN = r"^[0-9]{6,8}$"
Pin = Field(pattern=PIN_PATTERN, description="6 to 8 digits, unique within the store.", json_schema_extra={"writeOnly": True})


class StaffCreate(RequestModel):
    location_id: str = Field(min_length=1, max_length=64, description="The store they work in.")
    name: str = Field(min_length=1, max_length=128, description="How the app greets them and the event log names them.")
    pin: str = Pin


class StaffUpdate(PatchModel):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    pin: str | None = Field(default=None, pattern=PIN_PATTERN, description="A new PIN (6 to 8 digits); their open sessions end.")
    active: bool | None = Field(default=None, description="false: they can no longer sign in, and their open sessions end.")


class StaffRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    location_id: str
    name: str
    active: bool
    created_at: datetime
    updated_at: datetime


class SignIn(RequestModel):
    location_id: str = Field(min_length=1, max_length=64, description="The store the handheld is in.")
    pin: str = Field(min_length=1, max_length=16, description="The staff member's PIN.", json_schema_extra={"writeOnly": True})


class StaffSession(BaseModel):
    """A picker token for one staff member at one store (shown once), and when it ends."""

    token: str = Field(description="Bearer token of role picker, scoped to the store.")
    location_id: str
    staff_id: int
    staff_name: str
    expires_at: datetime = Field(description="The session ends then, used or not.")
    idle_seconds: int = Field(description="Unused this long, the session is signed out.")

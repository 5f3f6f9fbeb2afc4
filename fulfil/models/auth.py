"""API tokens: stored only as SHA-256 hashes, scoped by role and optionally to one location."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fulfil.models.base import Base, UTCDateTime, str_enum, utcnow


class Role(enum.StrEnum):
    OPS = "ops"
    PICKER = "picker"
    DEVICE = "device"
    CHANNEL = "channel"  # a web shop or app backend: availability, promises, holds, its own orders


class ApiToken(Base):
    """A bearer token. The secret is shown once at creation; only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[Role] = mapped_column(str_enum(Role, "token_role"))
    location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id"), default=None)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # A staff member's handheld session (fulfil.staff): who signed in, when it ends whatever happens, and the idle
    # time after which it is signed out. None for tokens issued by ops, which live until revoked.
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    idle_seconds: Mapped[int | None] = mapped_column(Integer, default=None)

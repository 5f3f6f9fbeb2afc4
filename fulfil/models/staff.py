"""Store staff who sign in on the handheld with their store and a PIN (fulfil.staff), and the failed sign-ins that
lock a device out for a while. PINs are kept only as keyed digests (HMAC-SHA256 under a key the database made
itself, `service_secrets`), unique per store: the PIN names the staff member within the store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fulfil.models.base import Base, UTCDateTime, utcnow

# The service_secrets row whose value keys PIN digests.
PIN_KEY = "staff_pin_key"


class ServiceSecret(Base):
    """A secret the service made for itself at migration time (never in the repository, never in a setting)."""

    __tablename__ = "service_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))


class StaffMember(Base):
    """A member of a store's staff; `pin_digest` identifies them within their store at sign-in."""

    __tablename__ = "staff_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    pin_digest: Mapped[str] = mapped_column(String(64), unique=True)  # the store is part of what is digested
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SignInFailure(Base):
    """One failed sign-in (wrong PIN) at a store from a client address; counted over a window by every process."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_store_at", "location_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    location_id: Mapped[str] = mapped_column(String(64))  # not a foreign key: a guess may name no store at all
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

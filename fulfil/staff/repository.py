"""Queries on staff, their PIN key and failed sign-ins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from fulfil.models import ApiToken, ServiceSecret, SignInFailure, StaffMember
from fulfil.models.staff import PIN_KEY


def pin_key(session: Session) -> bytes:
    """The key of PIN digests (made by migration 0012)."""
    value = session.scalar(select(ServiceSecret.value).where(ServiceSecret.name == PIN_KEY))
    if value is None:
        raise RuntimeError("the staff PIN key is missing: run `fulfil db upgrade`")
    return bytes.fromhex(value)


def by_digest(session: Session, digest: str) -> StaffMember | None:
    """The staff member with this PIN digest (the store is part of it)."""
    return session.scalars(select(StaffMember).where(StaffMember.pin_digest == digest)).one_or_none()


def list_(session: Session, *, location_id: str | None, limit: int, offset: int) -> Sequence[StaffMember]:
    """Staff by id, of one store or all."""
    stmt = select(StaffMember).order_by(StaffMember.id).limit(limit).offset(offset)
    if location_id is not None:
        stmt = stmt.where(StaffMember.location_id == location_id)
    return session.scalars(stmt).all()


def end_sessions(session: Session, staff_id: int, now: datetime) -> None:
    """Revoke every open session of a staff member."""
    session.execute(update(ApiToken).where(ApiToken.staff_id == staff_id, ApiToken.revoked_at.is_(None)).values(revoked_at=now))


def failures(session: Session, location_id: str, since: datetime, address: str | None = None) -> tuple[int, datetime | None]:
    """Failed sign-ins at a store since a time (from one address, or all): how many, and the oldest."""
    stmt = select(func.count(), func.min(SignInFailure.at)).where(SignInFailure.location_id == location_id, SignInFailure.at > since)
    if address is not None:
        stmt = stmt.where(SignInFailure.address == address)
    count, oldest = session.execute(stmt).one()
    return int(count), oldest


def record_failure(session: Session, location_id: str, address: str, now: datetime, forget_before: datetime) -> None:
    """Count a failed sign-in, and forget those that have left every window."""
    session.execute(delete(SignInFailure).where(SignInFailure.at <= forget_before))
    session.add(SignInFailure(location_id=location_id, address=address, at=now))
    session.flush()

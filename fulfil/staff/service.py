"""Staff workflows: PINs set by ops, and the store app's sign-in that exchanges a PIN for a picker session.

- A PIN is kept as HMAC-SHA256(key, store + PIN), the key made by the database itself (migration 0012): unique per
  store, so the PIN names the staff member within the store; the digest is useless without the key.
- A wrong PIN is counted per (store, client address) and per store, by every process (the `sign_in_failures`
  table). With `staff_sign_in_max_failures` wrong PINs from an address at a store within the window, that address is
  locked out there (429, Retry-After) until the oldest leaves the window, right PIN or not; with
  `staff_sign_in_store_max_failures` from all addresses, the whole store is. Successes do not reset the counts.
- A session is a picker token scoped to the store, naming the staff member, which ends `staff_session_hours` after
  sign-in and is signed out after `staff_idle_minutes` unused (fulfil.auth.service.authenticate). A new PIN or a
  deactivation ends the member's open sessions at once.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fulfil.auth.service import create_token
from fulfil.config import Settings
from fulfil.errors import Conflict, NotFound, TooManyRequests
from fulfil.models import Location, LocationKind, Role, StaffMember
from fulfil.staff import repository
from fulfil.staff.schemas import SignIn, StaffCreate, StaffSession, StaffUpdate


class WrongPin(Exception):
    """No active staff member of this (active) store has this PIN: the caller records the failure and answers 401."""


def digest(key: bytes, location_id: str, pin: str) -> str:
    """The stored form of a PIN at a store."""
    return hmac.new(key, f"{location_id}\x00{pin}".encode(), hashlib.sha256).hexdigest()


def create(session: Session, data: StaffCreate) -> StaffMember:
    """Add a member of a store's staff (404 unknown location, 409 not a store or PIN taken at that store)."""
    store = session.get(Location, data.location_id)
    if store is None:
        raise NotFound(f"location {data.location_id} not found", details={"location_id": data.location_id})
    if store.kind is not LocationKind.STORE:
        raise Conflict(f"{store.id} is a {store.kind.value}: staff sign in at stores", code="not_a_store", details={"location_id": store.id})
    member = StaffMember(location_id=store.id, name=data.name, pin_digest=_free_digest(session, store.id, data.pin))
    session.add(member)
    _flush_unique(session)
    return member


def update(session: Session, staff_id: int, data: StaffUpdate, now: datetime) -> StaffMember:
    """Rename, set a new PIN or (de)activate; a new PIN or a deactivation ends their open sessions."""
    member = get(session, staff_id)
    fields = data.model_dump(exclude_unset=True)
    if "name" in fields:
        member.name = fields["name"]
    ends = False
    if "pin" in fields:
        member.pin_digest = _free_digest(session, member.location_id, fields["pin"], keep=member.id)
        ends = True
    if "active" in fields:
        ends = ends or (member.active and not fields["active"])
        member.active = fields["active"]
    _flush_unique(session)
    if ends:
        repository.end_sessions(session, member.id, now)
    return member


def get(session: Session, staff_id: int) -> StaffMember:
    member = session.get(StaffMember, staff_id)
    if member is None:
        raise NotFound(f"staff member {staff_id} not found", details={"staff_id": staff_id})
    return member


def _free_digest(session: Session, location_id: str, pin: str, keep: int | None = None) -> str:
    """The PIN's digest, 409 when another member of the store has it."""
    found = digest(repository.pin_key(session), location_id, pin)
    other = repository.by_digest(session, found)
    if other is not None and other.id != keep:
        raise _pin_taken()
    return found


def _flush_unique(session: Session) -> None:
    """Flush; a PIN taken by a racing request is the same 409 as one taken before."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise _pin_taken() from None


def _pin_taken() -> Conflict:
    return Conflict("another member of this store's staff has this PIN: choose another", code="pin_taken")


def check_lockout(session: Session, location_id: str, address: str, settings: Settings, now: datetime) -> None:
    """429 (Retry-After) when this address, or the whole store, has had too many wrong PINs within the window."""
    window = timedelta(seconds=settings.staff_sign_in_window_seconds)
    for who, limit, scope in (
        (address, settings.staff_sign_in_max_failures, "this device"), (None, settings.staff_sign_in_store_max_failures, "this store"),
    ):
        count, oldest = repository.failures(session, location_id, now - window, who)
        if count >= limit and oldest is not None:
            wait = max(1, math.ceil((oldest + window - now).total_seconds()))
            raise TooManyRequests(f"too many wrong PINs from {scope}: sign-in is locked for {wait} s", retry_after=wait)


def sign_in(session: Session, data: SignIn, address: str, settings: Settings, now: datetime) -> StaffSession:
    """Exchange a PIN for a picker session at its store (429 when locked out, WrongPin otherwise)."""
    check_lockout(session, data.location_id, address, settings, now)
    store = session.get(Location, data.location_id)
    member = repository.by_digest(session, digest(repository.pin_key(session), data.location_id, data.pin))
    if member is None or not member.active or store is None or not store.active or store.kind is not LocationKind.STORE:
        raise WrongPin()
    issued = create_token(session, role=Role.PICKER, name=f"staff {member.id} {member.name}", location_id=store.id)
    token = issued.token
    token.staff_id = member.id
    token.expires_at = now + timedelta(hours=settings.staff_session_hours)
    token.idle_seconds = int(settings.staff_idle_minutes * 60)
    token.last_used_at = now
    session.flush()
    return StaffSession(
        token=issued.secret, location_id=store.id, staff_id=member.id, staff_name=member.name, expires_at=token.expires_at,
        idle_seconds=token.idle_seconds,
    )


def sign_in_or_count(session: Session, data: SignIn, address: str, settings: Settings, now: datetime) -> StaffSession:
    """`sign_in`, as the API and the sign-in page call it: a wrong PIN is counted in a transaction of its own, committed
    (the caller's is rolled back, the count must outlive the refusal), then WrongPin is raised again."""
    try:
        return sign_in(session, data, address, settings, now)
    except WrongPin:
        session.rollback()
        record_failure(session, data.location_id, address, settings, now)
        session.commit()
        raise


def record_failure(session: Session, location_id: str, address: str, settings: Settings, now: datetime) -> None:
    """Count a wrong PIN (in its own transaction: the caller commits it before answering 401)."""
    window = timedelta(seconds=settings.staff_sign_in_window_seconds)
    repository.record_failure(session, location_id[:64], address[:64], now, now - window)

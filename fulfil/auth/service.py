"""Token workflows: create (secret shown once), authenticate by hash, revoke."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.errors import InvalidInput, NotFound, Unauthenticated
from fulfil.models import ApiToken, Location, LocationKind, Role
from fulfil.models.base import utcnow

TOKEN_PREFIX = "ffl_"
# 32 random bytes: far beyond brute force, which is why an unsalted SHA-256 is a sound way to store it.
TOKEN_BYTES = 32
# last_used_at is written at most this often per token, so reads do not all become writes.
LAST_USED_RESOLUTION_SECONDS = 60


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, name, role and (for pickers and devices) location."""

    token_id: int
    name: str
    role: Role
    location_id: str | None
    staff_id: int | None = None  # a staff member's store app session (fulfil.staff)

    @property
    def label(self) -> str:
        """How this caller is named in the stock event log."""
        return f"{self.role.value}:{self.name}"


@dataclass(frozen=True)
class IssuedToken:
    """A new token and its secret, which is never stored and never shown again."""

    token: ApiToken
    secret: str


def hash_secret(secret: str) -> str:
    """The stored form of a token secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(session: Session, *, role: Role, name: str, location_id: str | None = None) -> IssuedToken:
    """Issue a token. Pickers must name their store, devices their location; ops and channel tokens are not scoped."""
    if role is Role.PICKER and location_id is None:
        raise InvalidInput("a picker token needs --store: pickers work in one store", details=[{"field": "store", "message": "required for pickers"}])
    if role is Role.DEVICE and location_id is None:
        raise InvalidInput("a device token needs --store: a device posts for the readers of one location",
                           details=[{"field": "store", "message": "required for devices"}])
    if role in (Role.OPS, Role.CHANNEL) and location_id is not None:
        raise InvalidInput(f"{role.value} tokens are not scoped to a location", details=[{"field": "store", "message": f"not allowed for {role.value}"}])
    if location_id is not None:
        location = session.get(Location, location_id)
        if location is None:
            raise NotFound(f"location {location_id} not found", details={"location_id": location_id})
        if role is Role.PICKER and location.kind is not LocationKind.STORE:
            raise InvalidInput(f"{location_id} is a {location.kind.value}, not a store", details=[{"field": "store", "message": "must be a store"}])
    secret = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken(name=name, role=role, location_id=location_id, token_hash=hash_secret(secret), token_prefix=secret[:12])
    session.add(token)
    session.flush()
    return IssuedToken(token=token, secret=secret)


def authenticate(session: Session, secret: str) -> Principal:
    """The principal of a live token; Unauthenticated for unknown or revoked ones (same answer, no oracle)."""
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret))).one_or_none()
    if token is None or token.revoked_at is not None:
        raise Unauthenticated("invalid or revoked token")
    if token.role is Role.DEVICE and token.location_id is None:
        # Issued before device tokens were scoped: it could post for any location's readers, so it is refused.
        raise Unauthenticated(
            f"device token #{token.id} has no location and is no longer accepted: issue a new one with"
            " `fulfil token create --role device --store <location>` and revoke this one",
            code="device_token_unscoped",
        )
    now = utcnow()
    if token.expires_at is not None and now >= token.expires_at:
        raise Unauthenticated("this session has ended: sign in again", code="session_expired")
    if token.idle_seconds is not None and token.last_used_at is not None and (now - token.last_used_at).total_seconds() > token.idle_seconds:
        # For good: last_used_at no longer moves, so every later request is refused the same way.
        raise Unauthenticated("signed out after a while unused: sign in again", code="signed_out_idle")
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
        token.last_used_at = now
    return Principal(token_id=token.id, name=token.name, role=token.role, location_id=token.location_id, staff_id=token.staff_id)


def list_tokens(session: Session, *, include_revoked: bool = False) -> Sequence[ApiToken]:
    """Tokens, newest first (never their secrets: only hashes are stored)."""
    stmt = select(ApiToken).order_by(ApiToken.id.desc())
    if not include_revoked:
        stmt = stmt.where(ApiToken.revoked_at.is_(None))
    return session.scalars(stmt).all()


def revoke_token(session: Session, token_id: int) -> ApiToken:
    """Revoke a token at once; revoking twice is harmless."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"token {token_id} not found", details={"token_id": token_id})
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    session.flush()
    return token

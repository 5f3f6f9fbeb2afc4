"""Tracking tokens: what a customer's tracking link carries. 32 hex digits of `secrets` (128 bits): unguessable, so
the link may be the credential; the failed-attempt guard of the tracking route is for the shorter pickup codes."""

from __future__ import annotations

import re
import secrets

TOKEN_LENGTH = 32
_TOKEN = re.compile(r"[0-9a-f]{32}")


def new_token() -> str:
    """A fresh tracking token."""
    return secrets.token_hex(TOKEN_LENGTH // 2)


def as_token(typed: str) -> str | None:
    """The stored form of a typed tracking token (case ignored), or None when it cannot be one."""
    token = typed.strip().lower()
    return token if _TOKEN.fullmatch(token) else None

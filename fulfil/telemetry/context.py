"""The id of the request being served, for error bodies and log lines (None outside a request)."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"
STATE_KEY = "request_id"  # request.state.request_id
# An id a client or proxy sends is kept when it is plain and short; anything else is replaced by one of ours.
_ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{8,64}")

request_id: ContextVar[str | None] = ContextVar("fulfil_request_id", default=None)


def current() -> str | None:
    return request_id.get()


def accept_or_make(sent: str | None) -> str:
    """The request's id: the one sent in X-Request-ID when it is 8 to 64 plain characters, else a new one."""
    if sent is not None and _ACCEPTED.fullmatch(sent):
        return sent
    return uuid.uuid4().hex

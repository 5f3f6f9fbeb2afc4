"""Reader connection-status messages: the MQTT birth and will (last-testament) payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from rfid.reads import ParseResult, ReaderEvent, ReaderEventKind, Rejection

SOURCE = "status"

OFFLINE_WORDS = frozenset({"connection lost", "offline", "disconnected", "lost"})
ONLINE_WORDS = frozenset({"connected", "online"})


def parse_status(payload: bytes, *, reader: str | None = None, received_at: datetime | None = None) -> ParseResult:
    """A READER_ONLINE / READER_OFFLINE event from a will or birth message (text or {"status": ...})."""
    received = received_at or datetime.now(UTC)
    result = ParseResult()
    text = payload.decode("utf-8", "replace").strip()
    try:
        document = json.loads(text) if text[:1] in ("{", '"') else text
    except (ValueError, RecursionError):
        document = text
    if isinstance(document, dict):
        document = document.get("status", document.get("state"))
    word = document.strip().lower() if isinstance(document, str) else ""
    if word in OFFLINE_WORDS:
        kind = ReaderEventKind.READER_OFFLINE
    elif word in ONLINE_WORDS:
        kind = ReaderEventKind.READER_ONLINE
    else:
        result.rejections.append(Rejection(f"not a connection status: {text[:40]!r}", payload, None, SOURCE))
        return result
    result.events.append(ReaderEvent(kind, reader, None, received, None, word, SOURCE, payload))
    return result

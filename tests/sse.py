"""Reading a server-sent event stream in tests: the events of an answer's lines as they come."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any


def sse_events(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Each event ({"id", "event", "data" decoded from JSON}, the fields it has) at its closing blank line."""
    current: dict[str, Any] = {}
    for line in lines:
        if line.startswith("id: "):
            current["id"] = line[4:]
        elif line.startswith("event: "):
            current["event"] = line[7:]
        elif line.startswith("data: "):
            current["data"] = json.loads(line[6:])
        elif line == "" and current:
            yield current
            current = {}

"""Feed cursors: `<next>[-<open>...].<rules>`, handed out with every feed and passed back as `since`.

The numbers say which changes the feed that handed the cursor out could not contain (fulfil.models.feed): those
numbered `next` or above, and those of the transactions listed as `open` (still running when the feed read: on
PostgreSQL the snapshot's in-progress transactions; SQLite lists none). An incremental feed re-sends every row
something "unseen" changed. The rules part is a fingerprint of the settings that decide a row's values besides stock
(the limited-availability threshold, the transit table) and of the rules' version: a cursor handed out under other
rules is refused (410), since rows computed under the old rules would never be sent again by an incremental feed."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from fulfil.config import Settings

# Bump when the way rows are computed changes: every cursor handed out before is then refused (410).
RULES_VERSION = 1
# Open transactions a cursor lists at most; with more, it says "everything from the oldest of them on" instead.
MAX_OPEN = 64
_NUMBER = r"(0|[1-9][0-9]{0,17})"  # at most 18 digits: any number fits 64 bits
# What a cursor looks like (also the schema of `since`).
PATTERN = rf"^{_NUMBER}(-{_NUMBER}){{0,{MAX_OPEN}}}\.[0-9a-f]{{8}}$"
MAX_LENGTH = 19 * (MAX_OPEN + 1) + 9


@dataclass(frozen=True)
class Cursor:
    """A position in the stream of changes: a change numbered `next` or above, or one of `open`, may be missing from
    the feed that handed it out."""

    next: int
    open: tuple[int, ...]
    rules: str

    def unseen(self, seq: int) -> bool:
        """Whether a change with this number may be missing from that feed."""
        return seq >= self.next or seq in self.open

    def __str__(self) -> str:
        return "-".join(str(n) for n in (self.next, *self.open)) + f".{self.rules}"


def rules_of(settings: Settings) -> str:
    """The fingerprint of the settings and rules a feed's rows depend on (8 hex digits)."""
    material = {"version": RULES_VERSION, "limited_max": settings.availability_limited_max, "transit_days": settings.routing_transit_days}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:8]


class Garbled(ValueError):
    """Text that is no cursor at all."""


def parse(text: str) -> Cursor:
    """A cursor from its text; Garbled when it does not look like one. The open transactions are taken as a set (a
    repeated one, or one at or above `next`, says nothing more): every text the pattern admits is a cursor, so the
    request schema says all there is to say about its form."""
    if re.fullmatch(PATTERN, text) is None:
        raise Garbled(text)
    numbers, _, rules = text.partition(".")
    first, *rest = (int(n) for n in numbers.split("-"))
    return Cursor(first, tuple(sorted({n for n in rest if n < first})), rules)

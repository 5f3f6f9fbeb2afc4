"""What applying a fact did (Effect, Outcome), and what the effects need to know about the site (Site)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass


class Outcome(enum.StrEnum):
    RECEIVED = "received"
    ARRIVED = "arrived"  # a ship-to-store parcel (its SSCC or an item tag) read in receiving at its pickup store: received there
    TRANSFERRED = "transferred"
    FOUND = "found"
    LOST = "lost"
    EXITED = "exited"
    LOCATED = "located"  # zone updated, no stock change
    DUPLICATE = "duplicate"  # the transition had already been applied
    IGNORED = "ignored"  # nothing to do (sold tag leaving, departure, portal in, a case tag, a parcel's own tag)
    FOREIGN = "foreign"  # rfid.verification's foreign tag (not GS1, invalid, an SSCC of no parcel in question): never touches stock
    UNCATALOGUED = "uncatalogued"  # an item tag of a GTIN the catalogue lacks: never touches stock until the product exists
    VERDICT = "verdict"  # a pack station's parcel was judged (complete or not)
    ANOMALY = "anomaly"  # a sold or shipped tag seen at a location: recorded once, tag and stock unchanged


@dataclass(frozen=True)
class Effect:
    """What one fact did, for counters and the live stream."""

    outcome: Outcome
    epc: str
    location: str
    zone: str
    gtin: str | None = None
    detail: str | None = None
    shipment_id: int | None = None


@dataclass(frozen=True)
class Site:
    """How to read a zone key: its location, its zone name and kind; the exit policy; what a zone holds now."""

    zones: dict[str, tuple[str, str, str]]  # key -> (location, zone, kind)
    exit_policy: str
    tags_in: Callable[[str], frozenset[str]]

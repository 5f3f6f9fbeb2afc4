"""What smoothing concludes from raw reads: frozen facts that may change state downstream."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Direction(str, enum.Enum):
    """Which way a tag went through a portal."""

    IN = "in"  # outer zone first, then inner
    OUT = "out"  # inner zone first, then outer


@dataclass(frozen=True, slots=True)
class TagArrived:
    """A tag not placed anywhere has been seen enough in a zone to be placed there."""

    epc: str
    zone: str
    at: datetime


@dataclass(frozen=True, slots=True)
class TagMoved:
    """A tag placed in one zone is now placed in another (time-weighted RSSI, after the hold-off)."""

    epc: str
    from_zone: str
    to_zone: str
    at: datetime


@dataclass(frozen=True, slots=True)
class TagDeparted:
    """A tag has been silent in its zone for the departure time, and is seen nowhere else."""

    epc: str
    zone: str
    at: datetime  # when the silence was long enough: last_seen + the zone's departure time
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class PortalCrossed:
    """A tag went through a portal, in the direction given by the order of its inner and outer peaks."""

    epc: str
    portal: str
    direction: Direction
    at: datetime  # when the passage was concluded (last read + the portal's silence time)
    inner_at: datetime  # strongest read at the inner zone
    outer_at: datetime  # strongest read at the outer zone


@dataclass(frozen=True, slots=True)
class ZoneUnknown:
    """A zone's coverage is lost (reader offline, antenna disconnected): its tags are neither here nor gone."""

    zone: str
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class ZoneKnown:
    """A zone's coverage is back; departures are judged again, from this moment."""

    zone: str
    at: datetime


Fact = TagArrived | TagMoved | TagDeparted | PortalCrossed | ZoneUnknown | ZoneKnown

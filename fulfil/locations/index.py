"""A process's copy of the active locations, exact at every request: each use reads the locations revision (one
indexed row, raised by a trigger in the same transaction as any change to `locations`: fulfil.models.revision) and
loads the locations again when it moved. Every API process keeps its own copy and checks it against the database, so
several processes never disagree and none answers from a copy older than what it reads.

Quotes and availability answers read locations on every request (300 to 1,000 of them, with their opening hours);
with the copy they read one number instead, and what is derived from a location (its calendar, the routing network's
location arrays) is computed once per revision in the snapshot's memo.

Exactness under concurrent writers: the revision is read before the locations, so a copy is never labelled with a
revision newer than its rows. On PostgreSQL (read committed) the rows may be newer than the label; the next request
that reads the newer number loads them again: a reload too many, never a stale answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.models import Location, LocationKind, Revision
from fulfil.models.revision import LOCATIONS

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Place:
    """An active location's fields as the channel API and the router read them."""

    id: str
    name: str
    kind: LocationKind
    lat: float
    lon: float
    address: dict[str, Any] | None
    capacity_per_day: int | None
    pick_cost_per_unit: float
    handling_days: int
    opening_hours: dict[str, Any] | None
    timezone: str
    cutoff_time: str | None
    paused_until: datetime | None

    @property
    def store(self) -> bool:
        """Whether customers can collect here."""
        return self.kind is LocationKind.STORE


@dataclass
class Snapshot:
    """The active locations at one revision, by id, with the stores' coordinates as arrays for nearest-store search."""

    revision: int | None
    places: tuple[Place, ...]
    by_id: dict[str, Place] = field(init=False)
    stores: tuple[Place, ...] = field(init=False)
    store_lat: np.ndarray = field(init=False)
    store_lon: np.ndarray = field(init=False)
    _memo: dict[Any, Any] = field(init=False, default_factory=dict)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.by_id = {p.id: p for p in self.places}
        self.stores = tuple(p for p in self.places if p.store)
        self.store_lat = np.array([p.lat for p in self.stores], dtype=np.float64)
        self.store_lon = np.array([p.lon for p in self.stores], dtype=np.float64)

    def memo(self, key: Any, compute: Callable[[], T]) -> T:
        """What `compute` derives from these locations, computed once per snapshot (per key)."""
        try:
            return self._memo[key]  # type: ignore[no-any-return]
        except KeyError:
            pass
        with self._lock:
            if key not in self._memo:
                self._memo[key] = compute()
            return self._memo[key]  # type: ignore[no-any-return]


_COLUMNS = (
    Location.id, Location.name, Location.kind, Location.lat, Location.lon, Location.address, Location.capacity_per_day,
    Location.pick_cost_per_unit, Location.handling_days, Location.opening_hours, Location.timezone, Location.cutoff_time, Location.paused_until,
)


def load(session: Session, revision: int | None) -> Snapshot:
    """The active locations as the session sees them now, labelled `revision` (read before them)."""
    rows = session.execute(select(*_COLUMNS).where(Location.active.is_(True)).order_by(Location.id))
    return Snapshot(revision, tuple(Place(*row) for row in rows))


def revision(session: Session) -> int | None:
    """The locations revision the session sees (None on a database without the counter: no copy is trusted)."""
    value = session.scalar(select(Revision.value).where(Revision.name == LOCATIONS))
    return None if value is None else int(value)


class LocationIndex:
    """One process's copy of the active locations; `current()` is exact for the session that asks."""

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self.loads = 0  # how many times the copy was (re)loaded: tests and benchmarks read it

    def current(self, session: Session) -> Snapshot:
        """The active locations as `session` sees them: the copy when its revision is the database's, else a fresh one."""
        seen = revision(session)
        snapshot = self._snapshot
        if seen is not None and snapshot is not None and snapshot.revision == seen:
            return snapshot
        with self._lock:  # one request reloads; the others racing with it take its copy
            snapshot = self._snapshot
            if seen is not None and snapshot is not None and snapshot.revision == seen:
                return snapshot
            fresh = load(session, seen)
            self.loads += 1
            if seen is not None:
                self._snapshot = fresh
            return fresh

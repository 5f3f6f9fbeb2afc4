"""How far a reader may move a cursor over event ids without reading past an event still to come (PostgreSQL).

The live stream and `GET /stock/events?after_id=` hand out events in id order and remember the last id sent. On
PostgreSQL an id is drawn when the row is written, not when it commits: a transaction that drew id 10 may commit
after one that drew id 11. A reader that saw 11 and moved on would never send 10.

A transaction that inserts into an event table holds a RowExclusiveLock on it from its first insert to its end, and
draws its ids after taking it. So, reading the table's sequence first and `pg_locks` second, at check k:
- every id drawn by then is at most the sequence value S_k read (ids come from one sequence, cache 1);
- a writer holding the lock at check k and not at check k-1 took it after check k-1 read the locks, so its ids are
  above S_(k-1): that is its *floor*; a writer seen at both keeps the floor it was first given;
- hence every id at most `min(S_k, floors of the writers in flight)` is committed or rolled back: that is the
  table's *limit*, and rows up to it can be read and passed for good.
A writer already in flight at a reader's first check has no known floor: the reader waits for it to end (`settle`).
A writer in flight longer than `linger_s` (a session left idle in a transaction, a stuck job) is no longer waited
for, with a warning: events it commits later below the cursor are not sent (README, Limits).

Only writers of the event tables are waited for (not every open transaction of the cluster), typically for a few
milliseconds. SQLite runs one writing transaction at a time, so ids commit in order: no limit there.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, text, true
from sqlalchemy.orm import Session

from fulfil.telemetry.metrics import EVENT_READERS_GAVE_UP

log = logging.getLogger(__name__)

TABLES = ("stock_events", "parcel_verifications", "tag_anomalies", "domain_events")
UNKNOWN = -1  # the floor of a writer already in flight at the first check: nothing above the cursor is final
LINGER_S = 30.0  # a writer in flight longer than this is not waited for
SETTLE_S = 5.0  # how long a reader's first checks wait for the writers in flight before them
SETTLE_POLL_S = 0.01
RECHECK_S = 0.015  # a reader held back checks once more after this: writers in flight usually commit within it

_SEQUENCES = text(
    "SELECT " + ", ".join(
        f"(SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {table}_id_seq) AS {table}" for table in TABLES
    )
)
# Granted RowExclusiveLocks on the event tables held by other sessions of this database, one row per transaction.
_WRITERS = text(
    "SELECT DISTINCT t.name, l.virtualtransaction FROM pg_locks AS l "
    "JOIN (VALUES " + ", ".join(f"('{table}', to_regclass('{table}')::oid)" for table in TABLES) + ") AS t(name, oid) "
    "ON l.relation = t.oid "
    "WHERE l.locktype = 'relation' AND l.mode = 'RowExclusiveLock' AND l.granted AND l.pid <> pg_backend_pid() "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


# Transactions found lingering by any reader of this process: no reader waits for them again.
_lingering: set[str] = set()
_lingering_lock = threading.Lock()


def _linger(table: str, transaction: str) -> None:
    EVENT_READERS_GAVE_UP.labels(table).inc()
    with _lingering_lock:
        if len(_lingering) > 10_000:  # long gone by then
            _lingering.clear()
        _lingering.add(transaction)


def _is_lingering(transaction: str) -> bool:
    with _lingering_lock:
        return transaction in _lingering


@dataclass
class _Writer:
    floor: int
    since: float  # monotonic time first seen


@dataclass
class Horizon:
    """One reader's view of the event writers in flight; `check()` before each read gives each table's limit."""

    linger_s: float = LINGER_S
    _previous: dict[str, int] | None = None
    _writers: dict[str, dict[str, _Writer]] = field(default_factory=lambda: {table: {} for table in TABLES})
    _limits: dict[str, int | None] = field(default_factory=lambda: dict.fromkeys(TABLES))

    def check(self, session: Session) -> dict[str, int | None]:
        """Each table's limit now: rows with an id up to it are final (None: no limit, on SQLite)."""
        if session.get_bind().dialect.name != "postgresql":
            return dict(self._limits)
        sequences = dict(session.execute(_SEQUENCES).mappings().one())
        in_flight: dict[str, set[str]] = {table: set() for table in TABLES}
        for name, transaction in session.execute(_WRITERS).all():
            if not _is_lingering(transaction):
                in_flight[name].add(transaction)
        now = time.monotonic()
        for table in TABLES:
            known = self._writers[table]
            floor = UNKNOWN if self._previous is None else self._previous[table]
            self._writers[table] = {tx: known.get(tx) or _Writer(floor, now) for tx in in_flight[table]}
            for tx, writer in list(self._writers[table].items()):
                if now - writer.since > self.linger_s:
                    log.warning("event readers: a transaction writing %s has been open for over %.0f s: not waited for", table, self.linger_s)
                    _linger(table, tx)
                    del self._writers[table][tx]
        self._previous = {table: int(value) for table, value in sequences.items()}
        return self._recompute()

    @property
    def holding(self) -> bool:
        """Whether the last check held ids back (drawn ones above a limit, behind a writer in flight)."""
        return self._previous is not None and any(
            limit is not None and limit < self._previous[table] for table, limit in self._limits.items()
        )

    def check_again_if_holding(self, session: Session) -> dict[str, int | None]:
        """`check()`, and once more after RECHECK_S when it held ids back: a writer that appeared since the previous
        check is given that check's sequence value as floor, so a reader polling seldom is held back a poll
        interval by every short writer; a second check a moment later usually finds it gone."""
        limits = self.check(session)
        if self.holding:
            time.sleep(RECHECK_S)  # a short, bounded second look
            limits = self.check(session)
        return limits

    def settle(self, session: Session, deadline_s: float = SETTLE_S) -> dict[str, int | None]:
        """Check until no writer of unknown floor is in flight (those before this reader's first check), at most
        `deadline_s`; the limits then. Beyond the deadline those writers are not waited for."""
        end = time.monotonic() + deadline_s
        while True:
            limits = self.check(session)
            if not self._unknown() or time.monotonic() >= end:
                break
            time.sleep(SETTLE_POLL_S)  # polling the writers in flight, bounded by the deadline
        if self._unknown():
            log.warning("event readers: transactions writing %s for over %.1f s are not waited for", ", ".join(self._unknown()), deadline_s)
            for table in TABLES:
                for tx in [tx for tx, w in self._writers[table].items() if w.floor == UNKNOWN]:
                    _linger(table, tx)
                    del self._writers[table][tx]
            limits = self._recompute()
        return limits

    def _unknown(self) -> list[str]:
        return [table for table in TABLES if any(w.floor == UNKNOWN for w in self._writers[table].values())]

    def _recompute(self) -> dict[str, int | None]:
        """Each table's limit: the sequence value of the last check, or below it the lowest floor of a writer in flight."""
        if self._previous is None:
            return dict(self._limits)
        for table in TABLES:
            self._limits[table] = min([self._previous[table], *(w.floor for w in self._writers[table].values())])
        return dict(self._limits)


def final(column: ColumnElement[int], limit: int | None) -> ColumnElement[bool]:
    """The condition `column <= limit` (always true when there is no limit)."""
    return true() if limit is None else column <= limit

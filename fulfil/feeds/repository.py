"""Queries of the local inventory feed: the reader's position in the stream of changes, locations, and stock levels
in product order (all of them, or those of the products something changed for since a cursor)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Row, or_, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from fulfil.models import FeedClock, Location, LocationKind, StockLevel

# Levels fetched per round trip while the feed streams (a server-side cursor on PostgreSQL).
BATCH = 5_000


@dataclass(frozen=True)
class Head:
    """Where the reader stands: changes numbered `next` or above, or by one of the `open` transactions, are the ones
    it cannot see; `oldest` is the lowest such number. No cursor this database handed out can have a `next` above the
    current one."""

    next: int
    open: tuple[int, ...]
    oldest: int


_PG_HEAD = text(
    "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint,"
    " ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(s) AS x ORDER BY 1)"
    " FROM pg_current_snapshot() AS s"
)


def head(session: Session) -> Head:
    """The reader's position, read in its transaction before the rows. PostgreSQL: the snapshot's xmax (the next
    transaction id) and its in-progress transactions (top-level ids, as changes are numbered), every one of which the
    snapshot cannot see, whenever it commits; SQLite: the feed clock plus one (writers are serialised: every change
    the reader cannot see is numbered above the clock it saw)."""
    if session.get_bind().dialect.name == "postgresql":
        xmin, xmax, xip = session.execute(_PG_HEAD).one()
        return Head(int(xmax), tuple(int(x) for x in xip), int(xmin))
    value = session.scalar(select(FeedClock.value).where(FeedClock.id == 1)) or 0
    return Head(value + 1, (), value + 1)


@dataclass(frozen=True)
class Place:
    """A location as the feed sees it."""

    id: str
    store: bool
    active: bool
    lat: float
    lon: float
    handling_days: int
    change_seq: int


def places(session: Session) -> list[Place]:
    """Every location, active or not (a closed store's rows are withdrawn by an incremental feed)."""
    rows = session.execute(
        select(Location.id, Location.kind, Location.active, Location.lat, Location.lon, Location.handling_days, Location.change_seq).order_by(Location.id)
    )
    return [Place(r.id, r.kind is LocationKind.STORE, bool(r.active), r.lat, r.lon, r.handling_days, r.change_seq) for r in rows]


# A level as the feed reads it: gtin, location_id, on_hand, reserved, safety, change_seq, source_seq (a Row, which
# unpacks like a tuple; spelled for SQLAlchemy 2.1's typing, and never subscripted at run time).
if TYPE_CHECKING:
    LevelRow = Row[str, str, int, int, int, int, int]
else:
    LevelRow = Row
_COLUMNS = (StockLevel.gtin, StockLevel.location_id, StockLevel.on_hand, StockLevel.reserved, StockLevel.safety,
            StockLevel.change_seq, StockLevel.source_seq)
_PRODUCT_ORDER = (StockLevel.gtin, StockLevel.location_id)


def all_levels(session: Session) -> Iterator[LevelRow]:
    """The levels of active locations, by product then location, streamed."""
    stmt = (
        select(*_COLUMNS).join(Location, Location.id == StockLevel.location_id).where(Location.active.is_(True))
        .order_by(*_PRODUCT_ORDER).execution_options(yield_per=BATCH)
    )
    yield from session.execute(stmt)


def _unseen(column: ColumnElement[int] | InstrumentedAttribute[int], next_seq: int, open_seqs: tuple[int, ...]) -> ColumnElement[bool]:
    return or_(column >= next_seq, column.in_(open_seqs)) if open_seqs else column >= next_seq


def levels_changed_since(session: Session, next_seq: int, open_seqs: tuple[int, ...]) -> Iterator[LevelRow]:
    """Every level (of any location) of the products something feed-relevant happened to that a cursor has not seen
    (numbered `next_seq` or above, or by one of `open_seqs`): a level whose advertised units changed, a location that
    started or stopped having units to offer, a level at a location that opened, closed or moved. By product then
    location, streamed."""
    changed_places = select(Location.id).where(_unseen(Location.change_seq, next_seq, open_seqs))
    touched = select(StockLevel.gtin).where(
        or_(_unseen(StockLevel.change_seq, next_seq, open_seqs), _unseen(StockLevel.source_seq, next_seq, open_seqs),
            StockLevel.location_id.in_(changed_places))
    )
    stmt = select(*_COLUMNS).where(StockLevel.gtin.in_(touched)).order_by(*_PRODUCT_ORDER).execution_options(yield_per=BATCH)
    yield from session.execute(stmt)

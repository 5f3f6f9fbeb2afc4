"""Change sequence numbers for the local inventory feed (fulfil.feeds): every change that alters what the feed says
carries a number, and a feed reader's cursor says which numbers it may not have seen.

- PostgreSQL: the writing transaction's id (`pg_current_xact_id()`). A reader's cursor is its snapshot's xmin: every
  transaction it cannot see has an id at or above it, whenever it commits, so `seq >= cursor` never misses a change
  committed after the reader ran (rows may be sent twice; a row is a state, so that is harmless).
- SQLite: writers are serialised (BEGIN IMMEDIATE), so a counter in `feed_clock`, bumped inside the writer's
  transaction, is enough: a reader's cursor is the counter it saw plus one.

Stock levels get their numbers in fulfil.stock.repository (the one guarded UPDATE); locations here, whenever a field
the feed depends on changes, whichever code changes it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Connection, ColumnElement, Integer, event, inspect, literal_column, text
from sqlalchemy.orm import Mapped, Mapper, Session, mapped_column

from fulfil.models.base import Base
from fulfil.models.location import Location

# The location fields the feed depends on: which locations are stores with rows, which are sources, how far.
FEED_LOCATION_FIELDS = ("active", "kind", "lat", "lon", "handling_days")

_PG_TRANSACTION_ID = "pg_current_xact_id()::text::bigint"


class FeedClock(Base):
    """SQLite only: the last change number handed out (one row, id 1). PostgreSQL numbers changes by transaction id."""

    __tablename__ = "feed_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


def next_change_seq(bind: Connection | Session) -> int | ColumnElement[int]:
    """The number to stamp a change with, in the caller's transaction: on PostgreSQL a SQL expression (the transaction
    id, evaluated by the statement that writes it), elsewhere the next value of the feed clock."""
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    if dialect.name == "postgresql":
        return literal_column(_PG_TRANSACTION_ID, BigInteger)
    bumped = bind.execute(text("UPDATE feed_clock SET value = value + 1 WHERE id = 1 RETURNING value")).scalar()
    if bumped is None:  # the row is made by the migration; a database without it starts the clock here
        bind.execute(text("INSERT INTO feed_clock (id, value) VALUES (1, 1)"))
        return 1
    return int(bumped)


@event.listens_for(Location, "before_update")
def _location_changed(_mapper: Mapper[Any], connection: Connection, target: Location) -> None:
    """A location that opens, closes, moves or changes its handling time changes feed rows (its own, and those it is
    a ship-to-store source of): number the change."""
    state = inspect(target)
    if any(state.attrs[name].history.has_changes() for name in FEED_LOCATION_FIELDS):
        target.change_seq = next_change_seq(connection)

"""Queries on stock levels and stock events. Every change is one conditional UPDATE, so racing writers cannot oversell."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from typing import Any

from sqlalchemy import ColumnElement, and_, case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from fulfil.horizon import final
from fulfil.models import StockEvent, StockLevel
from fulfil.models.feed import next_change_seq
from fulfil.stock.rules import available_sql


@dataclass(frozen=True)
class LevelAfter:
    """A stock level as it stands right after a change."""

    on_hand: int
    reserved: int
    safety: int
    quarantined: int = 0


def get_level(session: Session, location_id: str, gtin: str) -> StockLevel | None:
    """The level of one product at one location, if it was ever stocked there."""
    return session.get(StockLevel, (location_id, gtin))


def list_levels(
    session: Session, *, location_id: str | None, gtin: str | None, limit: int, offset: int
) -> Sequence[StockLevel]:
    """Levels filtered by location and/or GTIN, in a stable order."""
    stmt = select(StockLevel).order_by(StockLevel.location_id, StockLevel.gtin).limit(limit).offset(offset)
    if location_id is not None:
        stmt = stmt.where(StockLevel.location_id == location_id)
    if gtin is not None:
        stmt = stmt.where(StockLevel.gtin == gtin)
    return session.scalars(stmt).all()


def ensure_level(session: Session, location_id: str, gtin: str) -> None:
    """Create an empty level row if there is none; safe when two writers race to create it. A new row is a new
    (out-of-stock) row of the local inventory feed at a store, so it gets a change number."""
    dialect = session.get_bind().dialect.name
    values: dict[str, Any] = {"location_id": location_id, "gtin": gtin, "on_hand": 0, "reserved": 0, "safety": 0, "quarantined": 0}
    if dialect == "postgresql":
        values["change_seq"] = next_change_seq(session)  # the transaction id, evaluated only if the row is inserted
        session.execute(postgresql.insert(StockLevel).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        # SQLite writers are serialised: no one can insert the row between this look and the insert (which would
        # otherwise advance the feed clock for nothing on every receipt).
        if session.execute(select(StockLevel.gtin).where(StockLevel.location_id == location_id, StockLevel.gtin == gtin)).first() is None:
            values["change_seq"] = next_change_seq(session)
            session.execute(sqlite.insert(StockLevel).values(**values).on_conflict_do_nothing())
    elif get_level(session, location_id, gtin) is None:  # pragma: no cover - other databases
        session.add(StockLevel(**values, change_seq=next_change_seq(session)))
        session.flush()


def _feed_numbers(session: Session, available_delta: int) -> dict[str, ColumnElement[Any]]:
    """The change numbers an UPDATE changing available units by `available_delta` sets (fulfil.models.feed): what may
    be advertised (available, clamped at 0) changes unless it stays at 0; the location starts or stops being a
    source of the product when available crosses 0. Evaluated by the database on the row it updates."""
    if available_delta == 0:
        return {}
    seq = next_change_seq(session)
    before = available_sql()
    after = before + available_delta
    advertised = or_(before > 0, after > 0)  # before != after here, so the clamped values differ unless both <= 0
    crossed = or_(and_(before > 0, after <= 0), and_(before <= 0, after > 0))
    return {
        "change_seq": case((advertised, seq), else_=StockLevel.change_seq),
        "source_seq": case((crossed, seq), else_=StockLevel.source_seq),
    }


def apply_change(
    session: Session,
    location_id: str,
    gtin: str,
    *,
    on_hand_delta: int = 0,
    reserved_delta: int = 0,
    safety_delta: int = 0,
    quarantine_delta: int = 0,
    min_available_after: int | None = None,
) -> LevelAfter | None:
    """Apply deltas atomically, only if the result stays valid; None when the guard refused it.

    Guards, evaluated by the database on the current row (PostgreSQL re-checks them after
    waiting for a concurrent writer's lock): every quantity stays >= 0, reserved <= on_hand,
    quarantined >= 0,
    and, when asked, available (on_hand - reserved - safety) after the change >= min_available_after.
    A change of what may be advertised also numbers the row for the local inventory feed (fulfil.models.feed).
    """
    new_on_hand = StockLevel.on_hand + on_hand_delta
    new_reserved = StockLevel.reserved + reserved_delta
    new_safety = StockLevel.safety + safety_delta
    new_quarantined = StockLevel.quarantined + quarantine_delta
    stmt = (
        update(StockLevel)
        .where(StockLevel.location_id == location_id, StockLevel.gtin == gtin)
        .where(new_on_hand >= 0, new_reserved >= 0, new_safety >= 0, new_reserved <= new_on_hand, new_quarantined >= 0)
        .values(
            on_hand=new_on_hand, reserved=new_reserved, safety=new_safety, quarantined=new_quarantined,
            **_feed_numbers(session, on_hand_delta - reserved_delta - safety_delta),
        )
        .returning(StockLevel.on_hand, StockLevel.reserved, StockLevel.safety, StockLevel.quarantined)
        .execution_options(synchronize_session=False)
    )
    if min_available_after is not None:
        stmt = stmt.where(available_sql() + (on_hand_delta - reserved_delta - safety_delta) >= min_available_after)
    row = session.execute(stmt).one_or_none()
    if row is None:
        return None
    cached = session.identity_map.get(identity_key(StockLevel, (location_id, gtin)))
    if cached is not None:  # the UPDATE bypassed the ORM: make the loaded object reload on next access
        session.expire(cached)
    return LevelAfter(on_hand=row.on_hand, reserved=row.reserved, safety=row.safety, quarantined=row.quarantined)


def find_event_by_key(session: Session, key: str) -> StockEvent | None:
    """The event recorded under an idempotency key, if any."""
    return session.scalars(select(StockEvent).where(StockEvent.idempotency_key == key)).one_or_none()


def list_events(
    session: Session, *, location_id: str | None, gtin: str | None, order_id: int | None, limit: int, after_id: int | None,
    upto: int | None = None,
) -> Sequence[StockEvent]:
    """Stock events, oldest first, filtered and paged by id, none above `upto` (fulfil.horizon)."""
    stmt = select(StockEvent).where(final(StockEvent.id, upto)).order_by(StockEvent.id).limit(limit)
    if location_id is not None:
        stmt = stmt.where(StockEvent.location_id == location_id)
    if gtin is not None:
        stmt = stmt.where(StockEvent.gtin == gtin)
    if order_id is not None:
        stmt = stmt.where(StockEvent.order_id == order_id)
    if after_id is not None:
        stmt = stmt.where(StockEvent.id > after_id)
    return session.scalars(stmt).all()

"""Queries of checkout holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from fulfil.models import HoldStatus, StockHold


def by_public_id(session: Session, public_id: str) -> StockHold | None:
    """A hold with its lines, read afresh."""
    session.flush()
    stmt = (
        select(StockHold).where(StockHold.public_id == public_id).options(selectinload(StockHold.lines))
        .execution_options(populate_existing=True)
    )
    return session.scalars(stmt).one_or_none()


def end(session: Session, hold_id: int, status: HoldStatus, now: datetime, *, order_id: int | None = None, due_by: datetime | None = None) -> bool:
    """Move an active hold to `status`; False when it is no longer active (another request or the sweeper ended it
    first; with `due_by`, also when it is not yet due). The conditional UPDATE is the one gate: a hold ends exactly
    once, whoever races for it (PostgreSQL re-checks the condition after waiting on the row)."""
    stmt = update(StockHold).where(StockHold.id == hold_id, StockHold.status == HoldStatus.ACTIVE)
    if due_by is not None:
        stmt = stmt.where(StockHold.expires_at <= due_by)
    result = session.execute(
        stmt.values(status=status, ended_at=now, order_id=order_id).execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def due(session: Session, now: datetime, limit: int) -> Sequence[int]:
    """Ids of active holds past their expiry, oldest first."""
    stmt = select(StockHold.id).where(StockHold.status == HoldStatus.ACTIVE, StockHold.expires_at <= now).order_by(StockHold.expires_at).limit(limit)
    return session.scalars(stmt).all()

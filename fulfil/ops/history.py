"""The database as it stood at a past moment, for the what-if replay: a window's orders, the stock at its start
rebuilt from the stock event log, and the first routing decision of each order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from fulfil.models import Location, Order, RoutingDecision, StockEvent


@dataclass(frozen=True, slots=True)
class StockThen:
    """One (location, GTIN) at a moment: the sums of its stock events' deltas before it."""

    location_id: str
    gtin: str
    on_hand: int
    reserved: int
    safety: int


def count_orders(session: Session, since: datetime, until: datetime) -> int:
    """Orders created in [since, until)."""
    return session.scalar(select(func.count()).select_from(Order).where(Order.created_at >= since, Order.created_at < until)) or 0


def window_orders(session: Session, since: datetime, until: datetime) -> Sequence[Order]:
    """Orders created in [since, until) with their lines, in the order they arrived."""
    stmt = (select(Order).where(Order.created_at >= since, Order.created_at < until)
            .order_by(Order.created_at, Order.id).options(selectinload(Order.lines)))
    return session.scalars(stmt).all()


def stock_at(session: Session, moment: datetime, gtins: Iterable[str]) -> list[StockThen]:
    """On hand, reserved and safety stock of these products at every location just before `moment`: the sums of
    the deltas of the stock events that occurred before it (the event log explains every stock row: see
    fulfil.stock.invariant). A pair with no event then is absent."""
    wanted = sorted(set(gtins))
    if not wanted:
        return []
    stmt = (select(StockEvent.location_id, StockEvent.gtin, func.sum(StockEvent.on_hand_delta), func.sum(StockEvent.reserved_delta),
                   func.sum(StockEvent.safety_delta))
            .where(StockEvent.occurred_at < moment, StockEvent.gtin.in_(wanted))
            .group_by(StockEvent.location_id, StockEvent.gtin)
            .order_by(StockEvent.location_id, StockEvent.gtin))
    return [StockThen(loc, gtin, int(on_hand or 0), int(reserved or 0), int(safety or 0)) for loc, gtin, on_hand, reserved, safety in session.execute(stmt)]


def places(session: Session, ids: Iterable[str] = ()) -> Sequence[Location]:
    """The active locations, and the others named in `ids` (an order's pickup store closed since), by id."""
    named = list(set(ids))
    condition = Location.active.is_(True) | Location.id.in_(named) if named else Location.active.is_(True)
    return session.scalars(select(Location).where(condition).order_by(Location.id)).all()


def first_decisions(session: Session, since: datetime, until: datetime) -> dict[int, RoutingDecision]:
    """The first routing decision (the one made when it was taken in) of each order created in [since, until), by
    order id."""
    first = (select(func.min(RoutingDecision.id)).join(Order, Order.id == RoutingDecision.order_id)
             .where(Order.created_at >= since, Order.created_at < until).group_by(RoutingDecision.order_id))
    return {d.order_id: d for d in session.scalars(select(RoutingDecision).where(RoutingDecision.id.in_(first)))}

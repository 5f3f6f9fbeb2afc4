"""Checkout holds. A hold reserves the units of one quoted option (reservation events carry its id) until:
- the order that names it consumes it (its units pass to the order's shipments in the same transaction),
- the channel releases it, or
- it expires: the sweeper (inside `serve`, or `fulfil holds sweep`) releases its units.
Each ends exactly once: one conditional UPDATE (fulfil.holds.repository.end) decides who ends it, and only that
caller gives the units back. Holds are counted by the stock invariant as reservations.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from fulfil.auth.service import Principal
from fulfil.db import unit_of_work
from fulfil.errors import Conflict, NotFound
from fulfil.holds import repository
from fulfil.models import HoldStatus, StockCause, StockHold, StockHoldLine
from fulfil.promise.schemas import HoldLine, HoldRead, PromiseOption
from fulfil.stock import service as stock

log = logging.getLogger(__name__)

SWEEP_BATCH = 500


def create(
    session: Session, principal: Principal, option: PromiseOption, basket: dict[str, int], *, seconds: int, max_seconds: int, now: datetime,
    ship_to: tuple[float, float] | None,
) -> StockHold:
    """Reserve an option's units for `seconds`, at most `max_seconds` (InsufficientStock when another customer took
    one since the quote)."""
    seconds = min(seconds, max_seconds)
    hold = StockHold(
        public_id="hold_" + secrets.token_urlsafe(18), status=HoldStatus.ACTIVE, token_id=principal.token_id, option=option.option_id,
        pickup_location_id=option.store.id if option.store is not None else None,
        ship_to_lat=ship_to[0] if option.store is None and ship_to else None, ship_to_lon=ship_to[1] if option.store is None and ship_to else None,
        basket=[{"gtin": g, "qty": q} for g, q in basket.items()], quote=option.model_dump(mode="json"), expires_at=now + timedelta(seconds=seconds),
        lines=[StockHoldLine(location_id=p.location_id, gtin=ln.gtin, qty=ln.qty) for p in option.parcels for ln in p.lines],
    )
    session.add(hold)
    session.flush()
    for line in hold.lines:
        cause = stock.Cause(StockCause.ORDER, actor=principal.label, hold_id=hold.id, reason="checkout hold", note=hold.public_id)
        stock.reserve(session, line.location_id, line.gtin, line.qty, cause)
    return hold


def read(hold: StockHold) -> HoldRead:
    """The API view of a hold."""
    return HoldRead(
        id=hold.public_id, status=hold.status, option_id=hold.option, expires_at=hold.expires_at, order_id=hold.order_id,
        lines=[HoldLine(location_id=ln.location_id, gtin=ln.gtin, qty=ln.qty) for ln in hold.lines],
    )


def get(session: Session, public_id: str, principal: Principal) -> StockHold:
    """A hold of the caller's (another token's holds do not exist for it: 404)."""
    hold = repository.by_public_id(session, public_id)
    if hold is None or hold.token_id != principal.token_id:
        raise NotFound(f"hold {public_id} not found", details={"hold_id": public_id})
    return hold


def release(session: Session, public_id: str, principal: Principal, now: datetime) -> StockHold:
    """Give a hold up (the customer left checkout): its units go back at once. Releasing an ended hold changes
    nothing, except that a consumed one is a conflict (its units belong to the order)."""
    hold = get(session, public_id, principal)
    if repository.end(session, hold.id, HoldStatus.RELEASED, now):
        _give_back(session, hold, principal.label, "checkout hold released")
    else:
        hold = get(session, public_id, principal)
        if hold.status is HoldStatus.CONSUMED:
            raise Conflict(f"hold {public_id} was used by order {hold.order_id}", details={"hold_id": public_id, "order_id": hold.order_id}, code="hold_consumed")
    return get(session, public_id, principal)


def consume(session: Session, public_id: str, principal: Principal, order_id: int, now: datetime) -> StockHold:
    """Take a hold for an order (409 when it expired, was released or used): its units are released here, in the
    order's transaction, for the order's shipments to reserve again. On PostgreSQL the released rows stay locked by
    this transaction until it commits, so nobody can take the units in between; SQLite serialises writers."""
    hold = get(session, public_id, principal)
    if hold.status is HoldStatus.ACTIVE and hold.expires_at <= now:
        raise Conflict(f"hold {public_id} expired at {hold.expires_at.isoformat()}", details={"hold_id": public_id}, code="hold_expired")
    if not repository.end(session, hold.id, HoldStatus.CONSUMED, now, order_id=order_id):
        hold = get(session, public_id, principal)
        code = {HoldStatus.CONSUMED: "hold_consumed", HoldStatus.EXPIRED: "hold_expired", HoldStatus.RELEASED: "hold_released"}[hold.status]
        raise Conflict(f"hold {public_id} is {hold.status.value}", details={"hold_id": public_id, "order_id": hold.order_id}, code=code)
    _give_back(session, hold, principal.label, f"checkout hold used by order {order_id}", order_id=order_id)
    return hold


def _give_back(session: Session, hold: StockHold, actor: str, reason: str, *, order_id: int | None = None) -> None:
    for line in hold.lines:
        cause = stock.Cause(StockCause.ORDER, actor=actor, order_id=order_id, hold_id=hold.id, reason=reason[:64], note=hold.public_id)
        stock.release(session, line.location_id, line.gtin, line.qty, cause)


@dataclass
class Swept:
    """What a sweep did: holds expired (their units released) and holds that failed (logged, retried next sweep)."""

    expired: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def sweep(factory: sessionmaker[Session], now: datetime) -> Swept:
    """Expire every active hold past its expiry, each in its own transaction, exactly once even when several
    sweepers (processes) run at once."""
    swept = Swept()
    with unit_of_work(factory) as session:
        ids = list(repository.due(session, now, SWEEP_BATCH))
    for hold_id in ids:
        try:
            with unit_of_work(factory) as session:
                hold = session.get(StockHold, hold_id)
                assert hold is not None
                public_id = hold.public_id
                if repository.end(session, hold_id, HoldStatus.EXPIRED, now, due_by=now):
                    held = repository.by_public_id(session, public_id)
                    assert held is not None
                    _give_back(session, held, "system:hold-sweep", "checkout hold expired")
                    swept.expired.append(public_id)
        except Exception:  # one bad hold must not stop the others
            log.exception("expiring hold %s failed", hold_id)
            swept.failed.append(str(hold_id))
    return swept

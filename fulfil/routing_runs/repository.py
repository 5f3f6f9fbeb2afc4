"""Queries that turn the live database into routing-library inputs, and routing records back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, time

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, selectinload

import routing
from fulfil.models import Location, Order, OrderStatus, RoutingDecision, RoutingRun, Shipment, ShipmentStatus, ShortPick, StockLevel
from fulfil.leadership import key_sql
from fulfil.models.base import utcnow
from fulfil.shipments.states import DROPPED, HOLDS_RESERVATION, MOVABLE

OPEN_ORDER_STATUSES = (OrderStatus.RECEIVED, OrderStatus.ROUTED, OrderStatus.PARTIALLY_ROUTED, OrderStatus.UNFILLABLE, OrderStatus.FULFILLING)


def start_of_day(now: datetime | None = None) -> datetime:
    """Midnight UTC of today: capacity is per day."""
    now = now or utcnow()
    return datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)


def used_today(session: Session, *, exclude_shipments: Iterable[int] = ()) -> dict[str, int]:
    """Parcels each location has taken on today (shipments in `exclude_shipments` and dropped ones not counted)."""
    excluded = list(exclude_shipments)
    used_stmt = (
        select(Shipment.location_id, func.count())
        .where(Shipment.created_at >= start_of_day(), Shipment.status.not_in(list(DROPPED)))  # dropped shipments use no capacity
        .group_by(Shipment.location_id)
    )
    if excluded:
        used_stmt = used_stmt.where(Shipment.id.not_in(excluded))
    return {loc: n for loc, n in session.execute(used_stmt).all()}


def paused(paused_until: datetime | None, now: datetime) -> bool:
    """Whether ops paused a location (PATCH /locations/{id} `paused_until`): it takes no new parcel until then."""
    return paused_until is not None and paused_until > now


def locations(session: Session, *, exclude_shipments: Iterable[int] = ()) -> list[routing.Location]:
    """Active locations with the parcels they can still prepare today (shipments in `exclude_shipments` not counted);
    a paused location none."""
    used = used_today(session, exclude_shipments=exclude_shipments)
    out = []
    columns = (Location.id, Location.kind, Location.lat, Location.lon, Location.capacity_per_day, Location.pick_cost_per_unit, Location.handling_days,
               Location.paused_until)
    now = utcnow()
    # Columns, not entities: the router needs none of a location's JSON (address, opening hours).
    for loc_id, kind, lat, lon, per_day, pick_cost, handling, paused_until in session.execute(select(*columns).where(Location.active.is_(True)).order_by(Location.id)):
        capacity = 0 if paused(paused_until, now) else None if per_day is None else max(0, per_day - used.get(loc_id, 0))
        out.append(routing.Location(loc_id, kind.value, lat, lon, capacity, pick_cost, handling))
    return out


def stock(
    session: Session, gtins: set[str] | None, *, held_by: Sequence[Shipment] = (), active_only: bool = True,
) -> list[routing.StockItem]:
    """Stock the router may use: on hand less what other orders hold (units held by `held_by` count as free); of
    active locations, or (`active_only=False`) of every location, for a caller that filters by a location index."""
    freed: dict[tuple[str, str], int] = defaultdict(int)
    for shipment in held_by:
        if shipment.status in HOLDS_RESERVATION:
            for line in shipment.lines:
                freed[(shipment.location_id, line.gtin)] += line.qty - line.picked_qty
    columns = (StockLevel.location_id, StockLevel.gtin, StockLevel.on_hand, StockLevel.reserved, StockLevel.safety)
    # Only rows with a unit to give (the rest would be dropped below): a product held at 1,000 locations sends fewer rows.
    stmt = select(*columns).where(StockLevel.on_hand > StockLevel.reserved) if not held_by else select(*columns)
    if active_only:
        stmt = stmt.join(Location, Location.id == StockLevel.location_id).where(Location.active.is_(True))
    if gtins is not None:
        stmt = stmt.where(StockLevel.gtin.in_(gtins))
    items = []
    for location_id, gtin, on_hand, reserved, safety in session.execute(stmt.order_by(StockLevel.location_id, StockLevel.gtin)):
        free = on_hand - reserved + freed.get((location_id, gtin), 0)
        if free > 0:
            items.append(routing.StockItem(location_id, gtin, free, safety))
    return items


def order_for_routing(order: Order, remaining: dict[str, int], exclude: Iterable[str] = (), existing_shipments: int = 0) -> routing.Order:
    """A routing order for the `remaining` units (per GTIN) of a service order."""
    lines = tuple(routing.OrderLine(gtin, qty) for gtin, qty in remaining.items() if qty > 0)
    ship_to = (order.ship_to_lat, order.ship_to_lon) if order.ship_to_lat is not None and order.ship_to_lon is not None else None
    return routing.Order(
        id=order.external_id,
        channel=order.channel.value,
        lines=lines,
        ship_to=ship_to,
        pickup_at=order.pickup_location_id,
        promise_days=order.promise_days,
        exclude_locations=frozenset(exclude),
        existing_shipments=existing_shipments,
    )


def order_with_shipments(session: Session, order_id: int, *, lock: bool = False) -> Order | None:
    """An order with lines and shipments (and their lines) loaded; `lock` takes its row lock on PostgreSQL."""
    session.flush()  # it reloads (populate_existing): pending changes must reach the database first
    stmt = select(Order).where(Order.id == order_id).options(
        selectinload(Order.lines), selectinload(Order.shipments).selectinload(Shipment.lines), selectinload(Order.shipments).selectinload(Shipment.parcels)
    ).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update(of=Order)
    return session.scalars(stmt).one_or_none()


SCHEDULED_RUN_LOCK = "routing-batch:scheduled-run"
_TRY_RUN_LOCK = text(f"SELECT pg_try_advisory_xact_lock({key_sql('name')})")


def lock_scheduled_batch(session: Session) -> bool:
    """Take the lock of the scheduled batch run for this transaction (PostgreSQL; SQLite writers are serialised
    already): False when another process's scheduled run holds it now."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.execute(_TRY_RUN_LOCK, {"name": SCHEDULED_RUN_LOCK}).scalar())


def last_scheduled_batch(session: Session) -> datetime | None:
    """When the last committed scheduled batch run started (None: there was none)."""
    return session.scalar(select(func.max(RoutingRun.started_at)).where(RoutingRun.kind == "batch", RoutingRun.trigger == "schedule"))


def lock_order(session: Session, order_id: int) -> None:
    """Take an order's row lock (PostgreSQL; SQLite writers are serialised already). Every writer that changes an
    order's shipments locks the order first, then its shipments: two of them never wait on each other in opposite
    orders (a deadlock)."""
    session.flush()
    session.execute(select(Order.id).where(Order.id == order_id).with_for_update())


def lock_shipments(session: Session, order_id: int) -> None:
    """Take the row locks of an order's shipments, in id order (after the order's own lock): writers that change a
    shipment without its order (RFID verification) finish first, and what is read next is what they committed."""
    session.execute(select(Shipment.id).where(Shipment.order_id == order_id).order_by(Shipment.id).with_for_update())


def shorted(session: Session, order_ids: Iterable[int]) -> dict[int, set[tuple[str, str]]]:
    """Per order, the (location, GTIN) pairs a location short-picked: that product of that order never goes back there."""
    ids = list(order_ids)
    out: dict[int, set[tuple[str, str]]] = defaultdict(set)
    if ids:
        for order_id, location_id, gtin in session.execute(
            select(ShortPick.order_id, ShortPick.location_id, ShortPick.gtin).where(ShortPick.order_id.in_(ids)).distinct()
        ):
            out[order_id].add((location_id, gtin))
    return out


def reoptimisable_orders(session: Session) -> Sequence[Order]:
    """Open orders with a shipment nothing has started on, or with units still unassigned; everything loaded."""
    movable = select(Shipment.order_id).where(Shipment.status.in_(MOVABLE))
    waiting = (OrderStatus.RECEIVED, OrderStatus.UNFILLABLE, OrderStatus.PARTIALLY_ROUTED)
    stmt = (
        select(Order)
        .where(Order.id.in_(movable) | Order.status.in_(waiting), Order.status.in_(OPEN_ORDER_STATUSES))
        .order_by(Order.id)
        .options(selectinload(Order.lines), selectinload(Order.shipments).selectinload(Shipment.lines))
    )
    return session.scalars(stmt).all()


def exportable_orders(session: Session) -> Sequence[Order]:
    """Open orders none of whose shipments has started: the set a replay may decide afresh."""
    started = select(Shipment.order_id).where(Shipment.status.not_in([*MOVABLE, *DROPPED]))
    stmt = (
        select(Order)
        .where(Order.status.in_(OPEN_ORDER_STATUSES), Order.id.not_in(started))
        .order_by(Order.id)
        .options(selectinload(Order.lines), selectinload(Order.shipments).selectinload(Shipment.lines))
    )
    return session.scalars(stmt).all()


def decisions(session: Session, order_id: int) -> Sequence[RoutingDecision]:
    """Every routing decision of an order, newest first."""
    return session.scalars(select(RoutingDecision).where(RoutingDecision.order_id == order_id).order_by(RoutingDecision.id.desc())).all()


def find_decisions(
    session: Session, *, location_id: str | None, since: datetime | None, until: datetime | None, tags: Sequence[str],
    current_only: bool, before_id: int | None, limit: int,
) -> Sequence[RoutingDecision]:
    """Decisions newest first: sending to `location_id`, made in [since, until), carrying every tag of `tags`."""
    query = select(RoutingDecision)
    if location_id is not None:
        query = query.where(RoutingDecision.places_text.contains(f",{location_id},", autoescape=True))
    if since is not None:
        query = query.where(RoutingDecision.created_at >= since)
    if until is not None:
        query = query.where(RoutingDecision.created_at < until)
    for tag in tags:
        query = query.where(RoutingDecision.tag_text.contains(f",{tag},", autoescape=True))
    if current_only:
        query = query.where(RoutingDecision.superseded_at.is_(None))
    if before_id is not None:
        query = query.where(RoutingDecision.id < before_id)
    return session.scalars(query.order_by(RoutingDecision.id.desc()).limit(limit)).all()


def runs(session: Session, limit: int) -> Sequence[RoutingRun]:
    """Recent routing runs, newest first."""
    return session.scalars(select(RoutingRun).order_by(RoutingRun.id.desc()).limit(limit)).all()

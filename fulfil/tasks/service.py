"""The task queue of a location. Put backs and cycle counts are rows (a put back holds the reservation of its units
until it is confirmed); picks, parcels to receive and curbside arrivals are derived from shipments and orders, so a
task can never disagree with the state it stands for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.deps import check_location
from fulfil.errors import Conflict, InvalidInput, NotFound
from fulfil.journal import service as journal
from fulfil.config import Settings
from fulfil.models import Location, Order, Shipment, ShipmentStatus, StockCause, StoreTask, TaskKind, TaskStatus
from fulfil.models.base import utcnow
from fulfil.promise import calendar
from fulfil.stock import service as stock

S = ShipmentStatus
# A pick task lasts until the parcel leaves the store's work: shipped (or in transit to a pickup store), or made
# ready for its customer here. Its `shipment_status` says what is next (verified: ship it, or mark it ready).
PICK_STATUSES = (S.ASSIGNED, S.PICKING, S.PICKED, S.PACKED, S.VERIFIED)
# A receive task lasts from the parcel's departure for the pickup store until it is staged there (ready for pickup).
RECEIVE_STATUSES = (S.IN_TRANSIT, S.RECEIVED)
# Put backs and cycle counts wait for the customers' work: due a day after they were raised.
CHORE_DELAY = timedelta(hours=24)


@dataclass(frozen=True)
class Task:
    """One task of a location's queue, stored or derived."""

    kind: TaskKind
    ref: str  # stable: "task:12" (stored), "shipment:7" (pick, receive), "order:3" (curbside)
    location_id: str
    since: datetime
    due: datetime | None = None  # when it should be done (fulfil.tasks.service.queue); None: as soon as possible
    status: TaskStatus = TaskStatus.OPEN
    task_id: int | None = None  # stored tasks: confirm with POST /stores/{id}/tasks/{task_id}/done
    order_id: int | None = None
    shipment_id: int | None = None
    gtin: str | None = None
    qty: int | None = None
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def open_put_back(session: Session, shipment: Shipment, gtin: str, qty: int, reason: str) -> StoreTask:
    """Units of a cancelled shipment that were picked or packed must go back on the shelf: the task takes over
    their reservation (no stock moves now) and releases it when confirmed."""
    task = StoreTask(
        location_id=shipment.held_at, kind=TaskKind.PUT_BACK, order_id=shipment.order_id, shipment_id=shipment.id,
        gtin=gtin, qty=qty, reason=reason,
    )
    session.add(task)
    session.flush()
    journal.record(session, "task.opened", locations=[task.location_id], order_id=task.order_id, shipment_id=task.shipment_id,
                   task_id=task.id, task_kind=task.kind.value, gtin=gtin, qty=qty, reason=reason)
    return task


def open_cycle_count(session: Session, location_id: str, gtin: str, reason: str, *, order_id: int | None = None,
                     shipment_id: int | None = None) -> StoreTask:
    """Ask the store to count a product (a short pick found fewer than the books said); one open count per product."""
    existing = session.scalars(
        select(StoreTask).where(StoreTask.location_id == location_id, StoreTask.kind == TaskKind.CYCLE_COUNT,
                                StoreTask.gtin == gtin, StoreTask.status == TaskStatus.OPEN)
    ).first()
    if existing is not None:
        return existing
    task = StoreTask(location_id=location_id, kind=TaskKind.CYCLE_COUNT, gtin=gtin, reason=reason, order_id=order_id, shipment_id=shipment_id)
    session.add(task)
    session.flush()
    journal.record(session, "task.opened", locations=[location_id], order_id=order_id, shipment_id=shipment_id,
                   task_id=task.id, task_kind=task.kind.value, gtin=gtin, reason=reason)
    return task


def close_cycle_counts(session: Session, location_id: str, gtin: str, actor: str) -> None:
    """A count of the product was recorded (a stock adjustment by count): its open cycle count is done."""
    for task in session.scalars(
        select(StoreTask).where(StoreTask.location_id == location_id, StoreTask.kind == TaskKind.CYCLE_COUNT,
                                StoreTask.gtin == gtin, StoreTask.status == TaskStatus.OPEN)
    ):
        _finish(session, task, actor)


def complete(session: Session, location_id: str, task_id: int, principal: Principal, *, counted: int | None = None) -> StoreTask:
    """Confirm a stored task. A put back releases its units (they are on the shelf, available again); a cycle count
    with `counted` sets the product's on-hand there to it (a `count` adjustment, once per task). Confirming a task
    that is done already changes nothing (a retried tap)."""
    check_location(principal, location_id)
    stmt = select(StoreTask).where(StoreTask.id == task_id, StoreTask.location_id == location_id).with_for_update()
    task = session.scalars(stmt.execution_options(populate_existing=True)).one_or_none()
    if task is None:
        raise NotFound(f"task {task_id} not found at {location_id}", details={"task_id": task_id, "location_id": location_id})
    if task.status is TaskStatus.DONE:
        return task
    if task.status is not TaskStatus.OPEN:
        raise Conflict(f"task {task_id} is {task.status.value}", details={"task_id": task_id, "status": task.status.value}, code="task_closed")
    if counted is not None and task.kind is not TaskKind.CYCLE_COUNT:
        raise InvalidInput(f"task {task_id} is a {task.kind.value}: only a cycle count takes a count",
                           details=[{"field": "body.counted", "message": "only for a cycle count"}])
    if task.kind is TaskKind.CYCLE_COUNT and counted is not None:
        assert task.gtin is not None
        cause = stock.Cause(StockCause.MANUAL, actor=principal.label, reason="count", note=f"cycle count task {task.id}: {task.reason or ''}".strip())
        stock.adjust(session, task.location_id, task.gtin, cause, set_on_hand=counted, idempotency_key=f"cycle-count:{task.id}")
    if task.kind is TaskKind.PUT_BACK:
        assert task.gtin is not None and task.qty is not None
        cause = stock.Cause(StockCause.ORDER, actor=principal.label, order_id=task.order_id, shipment_id=task.shipment_id,
                            reason="put back", note=task.reason)
        stock.release(session, task.location_id, task.gtin, task.qty, cause, idempotency_key=f"put-back:{task.id}")
    _finish(session, task, principal.label)
    return task


def _finish(session: Session, task: StoreTask, actor: str) -> None:
    task.status = TaskStatus.DONE
    task.done_at = utcnow()
    task.done_by = actor
    session.flush()
    journal.record(session, "task.done", locations=[task.location_id], order_id=task.order_id, shipment_id=task.shipment_id,
                   task_id=task.id, task_kind=task.kind.value, gtin=task.gtin, qty=task.qty)


def queue(session: Session, location_id: str, settings: Settings, *, kinds: set[TaskKind] | None = None) -> list[Task]:
    """The open tasks of a location, most urgent first (by `due`, see `_due`): what the store's staff should do now."""
    tasks: list[Task] = []
    wanted = kinds or set(TaskKind)
    place = session.get(Location, location_id)
    hours = None if place is None else calendar.hours_of(place.opening_hours, place.timezone, place.cutoff_time or settings.cutoff_time)
    prepare = timedelta(minutes=settings.pickup_ready_minutes)
    if TaskKind.PICK in wanted:
        picks = session.execute(
            select(Shipment, Order).join(Order, Order.id == Shipment.order_id)
            .where(Shipment.location_id == location_id, Shipment.status.in_(PICK_STATUSES))
        ).all()
        now = utcnow()
        for s, order in picks:
            held = order.on_hold(now)
            if held and s.status is ShipmentStatus.ASSIGNED:
                continue  # held by ops: not to start (work already started shows, marked held)
            same_store = s.pickup_location_id == location_id
            due = _pick_due(hours, order.created_at, same_store, place.handling_days if place else 0, prepare)
            tasks.append(Task(TaskKind.PICK, f"shipment:{s.id}", location_id, s.created_at, due=due, order_id=s.order_id, shipment_id=s.id,
                              detail={"shipment_status": s.status.value, "click_and_collect": s.pickup_location_id is not None,
                                      "claimed_by": s.claimed_by, **({"on_hold": order.hold_reason} if held else {})}))
    if TaskKind.RECEIVE in wanted:
        # A ship-to-store parcel is the store's task until it is ready for pickup: receive it, then stage it (ready).
        for s in session.scalars(select(Shipment).where(Shipment.pickup_location_id == location_id, Shipment.status.in_(RECEIVE_STATUSES))):
            tasks.append(Task(TaskKind.RECEIVE, f"shipment:{s.id}", location_id, s.status_changed_at, due=s.status_changed_at + prepare,
                              order_id=s.order_id, shipment_id=s.id, detail={"from": s.location_id, "shipment_status": s.status.value}))
    if TaskKind.CURBSIDE in wanted:
        waiting = select(Shipment.order_id).where(Shipment.pickup_location_id == location_id, Shipment.status.in_([S.RECEIVED, S.READY_FOR_PICKUP]))
        for o in session.scalars(select(Order).where(Order.checked_in_at.is_not(None), Order.id.in_(waiting))):
            assert o.checked_in_at is not None
            tasks.append(Task(TaskKind.CURBSIDE, f"order:{o.id}", location_id, o.checked_in_at, due=o.checked_in_at, order_id=o.id,
                              detail=dict(o.checkin or {})))
    stored = {TaskKind.PUT_BACK, TaskKind.CYCLE_COUNT} & wanted
    if stored:
        for t in session.scalars(select(StoreTask).where(StoreTask.location_id == location_id, StoreTask.status == TaskStatus.OPEN,
                                                         StoreTask.kind.in_(stored))):
            tasks.append(Task(t.kind, f"task:{t.id}", location_id, t.created_at, due=t.created_at + CHORE_DELAY, task_id=t.id,
                              order_id=t.order_id, shipment_id=t.shipment_id, gtin=t.gtin, qty=t.qty, reason=t.reason))
    return sorted(tasks, key=lambda t: (t.due or t.since, t.since, t.ref))


def _pick_due(hours: calendar.Hours | None, ordered_at: datetime, same_store: bool, handling_days: int, prepare: timedelta) -> datetime | None:
    """When a pick must be done: a pickup from this store's own shelves when the promise said it would be ready
    (FULFIL_PICKUP_READY_MINUTES of opening time after the order); anything that leaves the store at its dispatch
    day's cut-off (the promise's dispatch date)."""
    if hours is None:
        return None
    if same_store:
        return calendar.ready_at(hours, ordered_at, prepare)
    day = calendar.dispatch_day(hours, ordered_at, handling_days)
    return None if day is None else datetime.combine(day, hours.cutoff, hours.zone)

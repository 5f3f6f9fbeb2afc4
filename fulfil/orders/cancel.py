"""Cancelling what has not left: the one place a shipment or an order is cancelled (the cancel route, expired
pickups), whole or some of its units. Unstarted work is released at once; picked or packed units become put-back
tasks that hold their reservation until the store confirms they are back on the shelf. A parcel that left can be
returned, not cancelled. Every cancellation that cancels something is journalled (`order.cancellation`) with what
was cancelled and why, for the stores concerned and for the customer's notices."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.errors import Conflict, Forbidden, PreconditionRequired
from fulfil.journal import service as journal
from fulfil.models import Channel, Order, OrderCancellation, OrderLine, OrderStatus, Shipment, ShipmentStatus, StockCause, StoreTask
from fulfil.models.base import utcnow
from fulfil.orders import repository
from fulfil.orders import service as orders
from fulfil.routing_runs import assign
from fulfil.routing_runs import repository as routing_repository
from fulfil.shipments.service import free_tags, take_units
from fulfil.shipments.states import AT_PICKUP, DROPPED, LEFT, MOVABLE, STARTED, advance
from fulfil.shipments.workflow import unpack
from fulfil.stock import service as stock
from fulfil.tasks import service as tasks

S = ShipmentStatus
# Started work is cut back least far along first: the fewer units already in a parcel, the less to put back.
_PROGRESS = (S.PICKING, S.PICKED, S.PACKED, S.VERIFIED, S.RECEIVED, S.READY_FOR_PICKUP)


@dataclass
class Cancelled:
    """What one cancellation did: units cancelled per GTIN, the put-back tasks it opened, the locations whose work changed."""

    units: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    put_backs: list[StoreTask] = field(default_factory=list)
    locations: set[str] = field(default_factory=set)

    def lines(self) -> list[dict[str, Any]]:
        """What was cancelled, per GTIN: `{gtin, qty, put_back_task_ids}` (as kept on the cancellation record)."""
        return [
            {"gtin": gtin, "qty": qty, "put_back_task_ids": [t.id for t in self.put_backs if t.gtin == gtin]}
            for gtin, qty in sorted(self.units.items()) if qty > 0
        ]


# ------------------------------------------------------------------------------------------- whole shipments, orders


def cancel_shipment(session: Session, shipment: Shipment, reason: str, actor: str) -> list[int]:
    """Cancel a shipment that has not left; returns the ids of the put-back tasks it opened (none when nothing was
    started). Conflict (`already_left`) when its parcel has left the location that served it."""
    return [task.id for task in _cancel_shipment(session, shipment, reason, actor)]


def _cancel_shipment(session: Session, shipment: Shipment, reason: str, actor: str) -> list[StoreTask]:
    if shipment.status in LEFT:
        raise Conflict(
            f"shipment {shipment.id} has {shipment.status.value.replace('_', ' ')}: it can be returned, not cancelled",
            details={"shipment_id": shipment.id, "status": shipment.status.value}, code="already_left",
        )
    opened: list[StoreTask] = []
    if shipment.status in MOVABLE:
        assign.release_shipment(session, shipment, actor, f"cancelled: {reason}")
    elif shipment.status in STARTED | AT_PICKUP:
        # The units are in a picker's hands, a parcel or a pickup bag: the store puts them back, then they are free.
        for line in shipment.lines:
            opened.append(tasks.open_put_back(session, shipment, line.gtin, line.qty, reason))
        free_tags(session, shipment)
    else:
        return opened  # rejected, superseded, expired or cancelled already: nothing holds units
    advance(shipment, ShipmentStatus.CANCELLED, reason=reason)
    session.flush()
    return opened


def cancel_order(session: Session, order: Order, reason: str, actor: str) -> list[int]:
    """Cancel every part of an order that has not left (order loaded with its shipments and lines, locked). Units
    nobody will fulfil now count as cancelled on their lines; the order is cancelled when nothing of it left.
    Returns the put-back tasks opened."""
    return [task.id for task in cancel_whole(session, order, reason, actor).put_backs]


def cancel_whole(session: Session, order: Order, reason: str, actor: str) -> Cancelled:
    """cancel_order(), saying what it did (units per GTIN, put backs); journalled when it cancelled anything."""
    before = {line.id: line.cancelled_qty for line in order.lines}
    done = Cancelled()
    for shipment in order.shipments:
        if shipment.status not in LEFT and shipment.status not in DROPPED:
            done.locations |= {shipment.location_id, shipment.held_at}
            done.put_backs += _cancel_shipment(session, shipment, reason, actor)
    left = [s for s in order.shipments if s.status in LEFT]
    delivered: dict[int, int] = defaultdict(int)
    for shipment in left:
        for sl in shipment.lines:
            delivered[sl.order_line_id] += sl.qty
    for line in order.lines:
        line.cancelled_qty = line.qty - delivered[line.id]
        done.units[line.gtin] += line.cancelled_qty - before[line.id]
    if not left and order.status is not OrderStatus.CANCELLED:
        _mark_cancelled(order, reason)
    else:
        assign.refresh_status(order, order.shipments)
    _journal(session, order, done, reason, actor, whole=True)
    session.flush()
    return done


def _mark_cancelled(order: Order, reason: str) -> None:
    previous = order.status
    order.status = OrderStatus.CANCELLED
    order.cancel_reason = reason
    order.cancelled_at = utcnow()
    journal.order_changed(order, previous, reason=reason)


# ------------------------------------------------------------------------------------------------------ some units


def cancel_units(session: Session, order: Order, wanted: dict[str, int], reason: str, actor: str) -> Cancelled:
    """Cancel some units of an order (GTIN -> units; the order loaded with shipments, lines and parcels, locked).
    Units are taken first from what is not routed yet, then from unstarted shipments (released at once), then from
    started ones, least far along first (a put-back task for the units removed; a packed parcel is packed again).
    All or nothing: Conflict naming the units when more is asked than can still be cancelled (`already_left` when
    units of that product have left: they can be returned)."""
    _check_cancellable(order, wanted)
    done = Cancelled()
    lines = {line.id: line for line in order.lines}
    for gtin, qty in wanted.items():
        need = qty - _cancel_unrouted(order, gtin, qty, done)
        for shipment in _holding(order, gtin):
            if need == 0:
                break
            need -= _cut(session, shipment, gtin, need, reason, actor, lines, done)
        assert need == 0, f"{need} units of {gtin} left to cancel on order {order.id} after the check said they could be"
    if all(line.cancelled_qty == line.qty for line in order.lines):
        _mark_cancelled(order, reason)
    else:
        assign.refresh_status(order, order.shipments)
    _journal(session, order, done, reason, actor, whole=False)
    session.flush()
    return done


def cancellable(order: Order) -> dict[str, dict[str, int]]:
    """Per GTIN of the order: units ordered, cancelled before, left (shipped, in transit, collected) and still
    cancellable (ordered - cancelled - left)."""
    out: dict[str, dict[str, int]] = {}
    for line in order.lines:
        row = out.setdefault(line.gtin, {"ordered": 0, "cancelled": 0, "left": 0, "cancellable": 0})
        row["ordered"] += line.qty
        row["cancelled"] += line.cancelled_qty
    for shipment in order.shipments:
        if shipment.status in LEFT:
            for sl in shipment.lines:
                out[sl.gtin]["left"] += sl.qty
    for row in out.values():
        row["cancellable"] = row["ordered"] - row["cancelled"] - row["left"]
    return out


def _check_cancellable(order: Order, wanted: dict[str, int]) -> None:
    counts = cancellable(order)
    refused = []
    for gtin, qty in wanted.items():
        row = counts.get(gtin, {"ordered": 0, "cancelled": 0, "left": 0, "cancellable": 0})
        if qty > row["cancellable"]:
            refused.append({"gtin": gtin, "requested": qty, **row})
    if not refused:
        return
    left = any(r["left"] for r in refused)
    what = "; ".join(
        f"{r['requested']} x {r['gtin']} asked, {r['cancellable']} cancellable"
        + (f" ({r['left']} left already: return them instead)" if r["left"] else "")
        + ("" if r["ordered"] else " (not on this order)")
        for r in refused
    )
    raise Conflict(f"order {order.id}: nothing was cancelled, more units asked than can be: {what}", details=refused,
                   code="already_left" if left else "too_many_units")


def _cancel_unrouted(order: Order, gtin: str, need: int, done: Cancelled) -> int:
    """Cancel up to `need` units of a GTIN that no live shipment carries; returns how many."""
    routed: dict[int, int] = defaultdict(int)
    for shipment in assign.live_shipments(order):
        for sl in shipment.lines:
            routed[sl.order_line_id] += sl.qty
    taken = 0
    for line in order.lines:
        if line.gtin == gtin and taken < need:
            take = min(need - taken, line.qty - line.cancelled_qty - routed[line.id])
            if take > 0:
                line.cancelled_qty += take
                done.units[gtin] += take
                taken += take
    return taken


def _holding(order: Order, gtin: str) -> list[Shipment]:
    """Shipments carrying a GTIN that may still give units up: unstarted ones newest first, then started ones (and
    those waiting at a pickup store) least far along first."""
    carrying = [s for s in order.shipments if any(sl.gtin == gtin for sl in s.lines)]
    unstarted = sorted((s for s in carrying if s.status in MOVABLE), key=lambda s: -s.id)
    started = sorted((s for s in carrying if s.status in _PROGRESS), key=lambda s: (_PROGRESS.index(s.status), -s.id))
    return unstarted + started


def _cut(session: Session, shipment: Shipment, gtin: str, need: int, reason: str, actor: str, lines: dict[int, OrderLine],
         done: Cancelled) -> int:
    """Take up to `need` units of a GTIN off a shipment; returns how many. Unstarted: released now. Started: a
    put-back task holds them until the store confirms. A shipment left with no units is cancelled; a packed one is
    packed again (its parcel no longer matches the verdict)."""
    started = shipment.status not in MOVABLE
    per_line = take_units(shipment, gtin, need)
    taken = sum(per_line.values())
    for order_line_id, units in per_line.items():
        lines[order_line_id].cancelled_qty += units
    done.units[gtin] += taken
    done.locations |= {shipment.location_id, shipment.held_at}
    if started:
        done.put_backs.append(tasks.open_put_back(session, shipment, gtin, taken, reason))
    else:
        cause = stock.Cause(StockCause.ORDER, actor=actor, order_id=shipment.order_id, shipment_id=shipment.id, reason="cancelled", note=reason)
        stock.release(session, shipment.held_at, gtin, taken, cause)
    if not shipment.lines:
        if started:
            free_tags(session, shipment)
        advance(shipment, ShipmentStatus.CANCELLED, reason=reason)
    elif started:
        unpack(session, shipment, f"units cancelled: {reason}")
    session.flush()
    return taken


def _journal(session: Session, order: Order, done: Cancelled, reason: str, actor: str, *, whole: bool) -> None:
    """One `order.cancellation` event for the customer's notices (no location), the store that took or hands over
    the order and every location whose work changed."""
    if not any(done.units.values()):
        return
    store = order.pickup_location_id or order.origin_location_id
    journal.record(
        session, "order.cancellation", locations=[store, *sorted(done.locations), None], order_id=order.id,
        external_id=order.external_id, whole=whole, reason=reason, actor=actor, lines=done.lines(), status=order.status.value,
    )


# --------------------------------------------------------------------------------------------- the cancel request


@dataclass(frozen=True)
class Outcome:
    """A cancel request answered: the order after it, the record kept, what was cancelled and whether nothing
    changed now (`replayed`: the key's earlier result, or a whole order with nothing left to cancel)."""

    order: Order
    record: OrderCancellation | None
    whole: bool
    lines: list[dict[str, Any]]
    replayed: bool


def fingerprint(reason: str, wanted: dict[str, int] | None) -> str:
    """A cancel request as sent (lines merged per GTIN), to tell a retry from a reused Idempotency-Key."""
    body = {"reason": reason, "lines": sorted(wanted.items()) if wanted is not None else None}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def cancel(session: Session, order_id: int, reason: str, wanted: dict[str, int] | None, principal: Principal,
           idempotency_key: str | None) -> Outcome:
    """Cancel an order (`wanted` None) or some of its units, as asked through the API: ops any order, a picker the
    store orders its store took. Line cancellations need an Idempotency-Key (a blind retry would cancel twice); a
    whole order asked again changes nothing."""
    if wanted is not None and idempotency_key is None:
        raise PreconditionRequired(
            "cancelling some units needs an Idempotency-Key header: a retry without one would cancel them twice",
            details=[{"field": "header.Idempotency-Key", "message": "required to cancel lines", "type": "missing"}],
        )
    order = _locked(session, order_id, principal)
    request_hash = fingerprint(reason, wanted)
    if idempotency_key is not None:
        earlier = repository.cancellation_by_key(session, order.id, idempotency_key)
        if earlier is not None:
            if earlier.request_hash != request_hash:
                raise Conflict(
                    "this Idempotency-Key was already used for a different cancellation of this order: use a new key",
                    details={"order_id": order.id, "cancellation_id": earlier.id}, code="idempotency_conflict",
                )
            return Outcome(order, earlier, wanted is None, list(earlier.lines), replayed=True)
    if wanted is None:
        counts = cancellable(order).values()
        if not any(row["cancellable"] for row in counts) and not any(row["cancelled"] for row in counts):
            raise Conflict(
                f"order {order.id} has left entirely: it can be returned, not cancelled",
                details=[{"gtin": g, **row} for g, row in cancellable(order).items()], code="already_left",
            )
        done = cancel_whole(session, order, reason, principal.label)
    else:
        done = cancel_units(session, order, wanted, reason, principal.label)
    record = None
    if any(done.units.values()) or idempotency_key is not None:
        record = OrderCancellation(order_id=order.id, idempotency_key=idempotency_key, request_hash=request_hash, reason=reason,
                                   lines=done.lines(), actor=principal.label)
        session.add(record)
        session.flush()
    return Outcome(order, record, wanted is None, done.lines(), replayed=not any(done.units.values()))


def _locked(session: Session, order_id: int, principal: Principal) -> Order:
    """The order, if the caller may cancel it, with its row lock and then its shipments' (in the lock order of every
    writer), read as committed once the locks are held. A picker may cancel the store orders its own store took;
    an order it cannot see is missing (404), one it sees but may not cancel is forbidden (403)."""
    seen = orders.get_order(session, order_id, principal)
    if principal.location_id is not None and (seen.channel is not Channel.STORE or seen.origin_location_id != principal.location_id):
        raise Forbidden(
            f"a picker may cancel only store orders taken by its store ({principal.location_id})",
            details={"order_id": order_id, "channel": seen.channel.value, "origin_location_id": seen.origin_location_id},
        )
    routing_repository.lock_order(session, order_id)
    routing_repository.lock_shipments(session, order_id)
    order = routing_repository.order_with_shipments(session, order_id)
    assert order is not None
    return order

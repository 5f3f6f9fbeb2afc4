"""KPIs of a period [since, until), each from the tables, with its definition beside it.

Every figure is computed here from rows anyone can query, and `tests/service/test_kpis.py` recomputes each one from
the same tables independently. Times are minutes; rates are fractions (0-1) or None when there is nothing to divide.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.models import (
    DomainEvent, HoldStatus, Order, ParcelVerification, Return, ReturnGrade, ReturnLine, RfidTag, RoutingDecision, Shipment, StockEvent,
    StockEventKind, StockHold, StockLevel, TagState, WebhookAttempt, WebhookDelivery,
)
from fulfil.models.base import utcnow

# Units a tag says are physically at the location (on hand): in stock, reserved for an order, picked, packed.
ON_HAND_TAGS = (TagState.IN_STOCK, TagState.RESERVED, TagState.PICKED, TagState.PACKED)

DEFINITIONS = {
    "orders.received": "orders created in the period",
    "orders.cost_per_order": "mean cost of the decisions in force for those orders (cost model: parcels, distance, picking)",
    "orders.split_rate": "share of those orders whose decision in force uses more than one location",
    "orders.unfilled_units": "units of those orders no location could take (the decisions in force)",
    "promises.missed": "orders with a promise placed in the period whose first parcel shipped or made ready came after "
                       "created_at + promise_days, or has not come and that time has passed",
    "promises.at_risk": "orders with a promise placed in the period whose decision in force is tagged promise_risk",
    "picking": "per location, minutes from a shipment's first 'picking' event to its first 'picked' event, for shipments picked in the period",
    "click_and_collect.ready_minutes": "mean minutes from an order's creation to its pickup being ready, for pickups ready in the period",
    "click_and_collect.no_show_rate": "pickups expired / (collected + expired) in the period",
    "returns.restock_minutes": "mean minutes from a return's creation to its stock event (resellable units back on sale)",
    "verification.failure_rate": "parcels judged at a pack station in the period with no complete RFID verdict in it (closed by hand, "
                                 "or still incomplete) / parcels judged; the incomplete verdicts on the way (items laid on the table one "
                                 "by one) do not make a failure",
    "verification.overrides": "parcels closed without a complete verdict, with a reason, in the period",
    "stock_accuracy": "now, over (location, product) pairs with tagged units on hand: 1 - sum |tags on hand - on_hand| / sum on_hand",
    "holds.conversion_rate": "holds created in the period and ended: consumed / (consumed + released + expired)",
    "webhooks.success_rate": "attempts made in the period that got a 2xx / all attempts made in the period",
}


def _minutes(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 60.0


def _rate(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "mean": None, "p50": None, "p90": None}
    ordered = sorted(values)
    return {"count": len(values), "mean": round(statistics.fmean(ordered), 3), "p50": round(statistics.median(ordered), 3),
            "p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 3)}


def _first_events(session: Session, kinds: Iterable[str], since: datetime | None, until: datetime,
                  shipments: Iterable[int] | None = None) -> dict[tuple[str, int], datetime]:
    """(kind, shipment id) -> when it first happened (an event is recorded once per location concerned); of the
    `shipments` given only, when given."""
    query = select(DomainEvent.kind, DomainEvent.shipment_id, DomainEvent.occurred_at).where(
        DomainEvent.kind.in_(list(kinds)), DomainEvent.shipment_id.is_not(None), DomainEvent.occurred_at < until)
    if since is not None:
        query = query.where(DomainEvent.occurred_at >= since)
    if shipments is not None:
        query = query.where(DomainEvent.shipment_id.in_(list(shipments)))
    first: dict[tuple[str, int], datetime] = {}
    for kind, shipment_id, at in session.execute(query):
        if shipment_id is None:
            continue
        key = (kind, shipment_id)
        if key not in first or at < first[key]:
            first[key] = at
    return first


# The figures drawn as small charts on the console, each a path into compute()'s answer.
TRENDS = (("orders", "received"), ("orders", "cost_per_order"), ("orders", "split_rate"), ("orders", "unfilled_units"),
          ("promises", "missed"), ("verification", "failure_rate"))


def daily(session: Session, last_day: datetime, days: int = 7) -> list[dict[str, Any]]:
    """compute() of each of the `days` days ending with the one starting at `last_day`, oldest first."""
    return [compute(session, start, start + timedelta(days=1)) for start in (last_day - timedelta(days=back) for back in range(days - 1, -1, -1))]


def trends(days: list[dict[str, Any]]) -> dict[str, list[tuple[str, float | None]]]:
    """The TRENDS figures of daily()'s days: "group.name" -> [(day, value)], oldest first (None: nothing to count)."""
    return {f"{group}.{name}": [(d["since"].date().isoformat(), d[group][name]) for d in days] for group, name in TRENDS}


def compute(session: Session, since: datetime, until: datetime) -> dict[str, Any]:
    """The KPIs of [since, until) as JSON."""
    now = utcnow()
    orders = session.execute(select(Order.id, Order.created_at, Order.promise_days, Order.pickup_location_id)
                             .where(Order.created_at >= since, Order.created_at < until)).all()
    ids = [o.id for o in orders]
    current = {d.order_id: d for d in session.scalars(select(RoutingDecision).where(
        RoutingDecision.order_id.in_(ids), RoutingDecision.superseded_at.is_(None)))} if ids else {}
    decided = list(current.values())
    unfilled = sum(int(q) for d in decided for q in ((d.explanation or {}).get("unfilled") or {}).values())

    # Promises: the first parcel on its way (shipped) or ready for pickup, whenever it happened.
    promised = [o for o in orders if o.promise_days is not None]
    first_out: dict[int, datetime] = {}
    if promised:
        rows = session.execute(select(DomainEvent.order_id, DomainEvent.occurred_at).where(
            DomainEvent.order_id.in_([o.id for o in promised]), DomainEvent.kind.in_(["shipment.shipped", "shipment.ready_for_pickup"])))
        for order_id, at in rows:
            if order_id is not None and (order_id not in first_out or at < first_out[order_id]):
                first_out[order_id] = at
    missed = 0
    for o in promised:
        deadline = o.created_at + timedelta(days=o.promise_days)
        out = first_out.get(o.id)
        missed += (out is not None and out > deadline) or (out is None and now > deadline)

    # Picking time per location.
    # Shipments picked in the period, then when each started (maybe earlier): never the whole history of events.
    picked_in_period = {sid: at for (_, sid), at in _first_events(session, ["shipment.picked"], since, until).items()}
    started = {sid: at for (_, sid), at in _first_events(session, ["shipment.picking"], None, until, picked_in_period).items()}
    # The serving location (the event is also copied to a click-and-collect order's pickup store).
    serving = dict(session.execute(select(Shipment.id, Shipment.location_id).where(Shipment.id.in_(list(picked_in_period)))).all()) if picked_in_period else {}
    by_location: dict[str, list[float]] = defaultdict(list)
    for sid, done in picked_in_period.items():
        if sid in started and sid in serving:
            by_location[serving[sid]].append(_minutes(done, started[sid]))

    # Click and collect.
    pickup_events = _first_events(session, ["pickup.ready", "pickup.collected", "pickup.expired"], since, until)
    ready = {sid: at for (kind, sid), at in pickup_events.items() if kind == "pickup.ready"}
    created_of: dict[int, datetime] = {}
    if ready:
        created_of = dict(session.execute(select(Shipment.id, Order.created_at).join(Order, Order.id == Shipment.order_id)
                                          .where(Shipment.id.in_(list(ready)))).all())
    ready_minutes = [_minutes(at, created_of[sid]) for sid, at in ready.items() if sid in created_of]
    collected = sum(1 for (kind, _), _at in pickup_events.items() if kind == "pickup.collected")
    expired = sum(1 for (kind, _), _at in pickup_events.items() if kind == "pickup.expired")

    # Returns.
    returns = session.execute(select(Return.id, Return.order_id, Return.location_id, Return.created_at)
                              .where(Return.created_at >= since, Return.created_at < until)).all()
    lines = session.execute(select(ReturnLine.return_id, ReturnLine.gtin, ReturnLine.qty, ReturnLine.grade)
                            .where(ReturnLine.return_id.in_([r.id for r in returns]))).all() if returns else []
    resellable = sum(ln.qty for ln in lines if ln.grade is ReturnGrade.RESELLABLE)
    restock: list[float] = []
    # Each return's first resellable unit back in stock where it came back (one query for all the period's returns).
    back_in: list[Any] = list(session.execute(select(StockEvent.order_id, StockEvent.location_id, StockEvent.occurred_at).where(
        StockEvent.order_id.in_({r.order_id for r in returns}), StockEvent.kind == StockEventKind.RETURN, StockEvent.on_hand_delta > 0,
        StockEvent.occurred_at >= min(r.created_at for r in returns) - timedelta(seconds=1)).order_by(StockEvent.id))) if returns else []
    for r in returns:
        back = next((e.occurred_at for e in back_in if e.order_id == r.order_id and e.location_id == r.location_id
                     and e.occurred_at >= r.created_at - timedelta(seconds=1)), None)
        if back is not None:
            restock.append(max(_minutes(back, r.created_at), 0.0))

    # Parcel verification.
    verdict_rows = session.execute(select(ParcelVerification.shipment_id, ParcelVerification.parcel_id, ParcelVerification.complete).where(
        ParcelVerification.created_at >= since, ParcelVerification.created_at < until)).all()
    verdicts = [v.complete for v in verdict_rows]
    # A parcel is judged again each time what the station sees changes (items laid on the table one by one): it
    # failed when none of its verdicts of the period was complete.
    judged: dict[tuple[int, int | None], bool] = {}
    for v in verdict_rows:
        judged[(v.shipment_id, v.parcel_id)] = judged.get((v.shipment_id, v.parcel_id), False) or v.complete
    failed_parcels = sum(1 for complete in judged.values() if not complete)
    verified = session.execute(select(DomainEvent.shipment_id, DomainEvent.data).where(
        DomainEvent.kind == "shipment.verified", DomainEvent.occurred_at >= since, DomainEvent.occurred_at < until)).all()
    overrides = {sid for sid, data in verified if str((data or {}).get("reason", "")).startswith("override by")}

    # Stock accuracy from RFID, now.
    tags: dict[tuple[str, str], int] = defaultdict(int)
    for location_id, gtin in session.execute(select(RfidTag.location_id, RfidTag.gtin).where(
            RfidTag.state.in_(ON_HAND_TAGS), RfidTag.location_id.is_not(None), RfidTag.gtin.is_not(None))):
        if location_id is not None and gtin is not None:
            tags[(location_id, gtin)] += 1
    on_hand = {(lvl.location_id, lvl.gtin): lvl.on_hand for lvl in session.scalars(select(StockLevel).where(
        StockLevel.gtin.in_({g for _, g in tags}))) if (lvl.location_id, lvl.gtin) in tags} if tags else {}
    total = sum(on_hand.get(k, 0) for k in tags)
    off = sum(abs(n - on_hand.get(k, 0)) for k, n in tags.items())

    # Holds and webhooks.
    holds = session.execute(select(StockHold.status).where(StockHold.created_at >= since, StockHold.created_at < until)).scalars().all()
    by_hold = {s.value: sum(1 for h in holds if h is s) for s in HoldStatus}
    ended = by_hold["consumed"] + by_hold["released"] + by_hold["expired"]
    deliveries = session.execute(select(WebhookDelivery.status).where(
        WebhookDelivery.created_at >= since, WebhookDelivery.created_at < until)).scalars().all()
    attempts = session.execute(select(WebhookAttempt.status_code).where(
        WebhookAttempt.started_at >= since, WebhookAttempt.started_at < until)).scalars().all()
    good = sum(1 for code in attempts if code is not None and 200 <= code < 300)

    return {
        "since": since, "until": until,
        "orders": {
            "received": len(orders), "decided": len(decided),
            "cost_per_order": round(statistics.fmean(d.cost for d in decided), 4) if decided else None,
            "split_orders": sum(1 for d in decided if "split" in d.tags),
            "split_rate": _rate(sum(1 for d in decided if "split" in d.tags), len(decided)),
            "unfilled_units": unfilled,
        },
        "promises": {"promised": len(promised), "missed": int(missed), "miss_rate": _rate(missed, len(promised)),
                     "at_risk": sum(1 for o in promised if o.id in current and "promise_risk" in current[o.id].tags)},
        "picking": [{"location_id": loc, **_stats(values)} for loc, values in sorted(by_location.items())],
        "click_and_collect": {"ready": len(ready), "ready_minutes": _stats(ready_minutes), "collected": collected, "expired": expired,
                              "no_show_rate": _rate(expired, collected + expired)},
        "returns": {"returns": len(returns), "units": sum(ln.qty for ln in lines), "resellable_units": resellable,
                    "damaged_units": sum(ln.qty for ln in lines) - resellable, "restock_minutes": _stats(restock)},
        "verification": {"verdicts": len(verdicts), "incomplete": sum(1 for c in verdicts if not c), "parcels": len(judged),
                         "parcels_failed": failed_parcels, "failure_rate": _rate(failed_parcels, len(judged)), "overrides": len(overrides)},
        "stock_accuracy": {"pairs": len(tags), "tags_on_hand": sum(tags.values()), "on_hand": total,
                           "accuracy": max(0.0, 1 - off / total) if total else None},
        "holds": {**by_hold, "created": len(holds), "conversion_rate": _rate(by_hold["consumed"], ended)},
        "webhooks": {"deliveries": len(deliveries), **{s: sum(1 for d in deliveries if d.value == s) for s in ("pending", "delivered", "failed")},
                     "attempts": len(attempts), "failed_attempts": len(attempts) - good, "success_rate": _rate(good, len(attempts))},
        "definitions": DEFINITIONS,
    }

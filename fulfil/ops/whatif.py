"""What-if replay: a past window's orders decided again under two policies, side by side, from an instance exported
from the database as it stood when the window opened.

The instance: the orders created in [since, until) as they were placed (every line as ordered, in arrival order),
the locations active now (an order's pickup store closed since is kept, serving nothing) with their daily parcel
capacity times the days the window touches, and the stock of those products at `since` rebuilt from the stock event
log (on hand less reserved, the safety stock recorded then or none). Each policy's plan is then measured with the
service's cost model (the FULFIL_ROUTING_* settings) against that instance, so the two columns are comparable even
when one policy optimised with another split penalty. `as decided` reads what the service decided when each order
came in (its first routing decision), measured with the same definitions where the decision records them.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

import routing
from routing.check import evaluate
from routing.cost import destination, leg
from fulfil.config import Settings
from fulfil.errors import Conflict
from fulfil.models import Order, RoutingDecision
from fulfil.models.base import utcnow
from fulfil.ops import history
from fulfil.routing_runs import repository as routing_repository
from fulfil.routing_runs.service import build_instance, params

MAX_DAYS = 7
MAX_ORDERS = 3_000
# Each optimised policy gets this long at most (a window of MAX_ORDERS orders included); the seed makes runs agree.
OPTIMISER_SECONDS = 8.0
OPTIMISER_WORKERS = 1
SOLVERS = ("greedy", "optimised", "realtime")
SAFETY_STOCK = ("recorded", "none")

# (key, definition, which way is better: "lower", or None when neither is).
KPIS: tuple[tuple[str, str, str | None], ...] = (
    ("orders", "orders created in the window (the instance's orders)", None),
    ("cost_per_order", "cost / orders", "lower"),
    ("cost", "total by the service's cost model: parcels (base + distance), picking, split penalties, unfilled penalties", "lower"),
    ("shipping", "parcel costs: base cost + cost per km of each parcel", "lower"),
    ("picking", "picking cost of the units shipped", "lower"),
    ("parcels", "parcels (shipments) in the plan", "lower"),
    ("split_orders", "orders served by more than one parcel", "lower"),
    ("split_rate", "split orders / orders", "lower"),
    ("unfilled_units", "units of the window's orders no parcel carries", "lower"),
    ("promise_misses", "orders with a promise that a parcel arrives after (by the cost model's days), or that has units unfilled", "lower"),
    ("km_per_parcel", "mean great-circle km from the serving location to the parcel's destination", "lower"),
)
DEFINITIONS = {key: text for key, text, _ in KPIS}
AS_DECIDED = ("as decided: each order's first routing decision (on intake), made against the stock of its moment (units received "
              "during the window included) and priced with the settings of the time; its cost, parcels, splits and unfilled units "
              "are the decision's own, km and promise from its locations; shipping and picking are not recorded apart")


@dataclass(frozen=True)
class Policy:
    """A way of deciding: the solver, the split penalty (None: the service's) and the safety stock kept back."""

    solver: str
    split_penalty: float | None = None
    safety_stock: str = "recorded"


@dataclass(frozen=True)
class Window:
    """The instance of a window under the service's parameters and the safety stock recorded at its start."""

    since: datetime
    until: datetime
    instance: routing.Instance
    orders: Sequence[Order]


def check_window(since: datetime, until: datetime, now: datetime) -> tuple[datetime, datetime]:
    """[since, until) in UTC, or a 409 saying what is wrong with it: empty, longer than MAX_DAYS, not started."""
    try:
        start, end = since.astimezone(UTC), until.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise Conflict("the window is out of range of dates this service can hold", code="window_out_of_range") from exc
    if end <= start:
        raise Conflict("the window ends before it starts: `until` must be later than `since`", code="window_empty",
                       details={"since": start.isoformat(), "until": end.isoformat()})
    if end - start > timedelta(days=MAX_DAYS):
        raise Conflict(f"the window is longer than {MAX_DAYS} days: replay a shorter one", code="window_too_long",
                       details={"max_days": MAX_DAYS})
    if start >= now:
        raise Conflict("the window has not started yet: replay a past window", code="window_in_future", details={"now": now.isoformat()})
    return start, end


def _days(since: datetime, until: datetime) -> int:
    """UTC days the window touches: each gives the locations a day's parcel capacity."""
    last: date = (until - timedelta(microseconds=1)).date()
    return (last - since.date()).days + 1


def window(session: Session, settings: Settings, since: datetime, until: datetime) -> Window:
    """The routing instance of the window as it stood at `since` (see the module's docstring)."""
    count = history.count_orders(session, since, until)
    if count > MAX_ORDERS:
        raise Conflict(f"the window holds {count} orders, more than {MAX_ORDERS}: replay a shorter one", code="window_too_large",
                       details={"orders": count, "max_orders": MAX_ORDERS})
    orders = history.window_orders(session, since, until)
    days = _days(since, until)
    pickups = {o.pickup_location_id for o in orders if o.pickup_location_id}
    locations = []
    for p in history.places(session, pickups):
        capacity = 0 if not p.active else None if p.capacity_per_day is None else p.capacity_per_day * days
        locations.append(routing.Location(p.id, p.kind.value, p.lat, p.lon, capacity, p.pick_cost_per_unit, p.handling_days))
    served = {loc.id for loc in locations}
    stock = [routing.StockItem(s.location_id, s.gtin, s.on_hand - s.reserved, s.safety)
             for s in history.stock_at(session, since, {line.gtin for o in orders for line in o.lines})
             if s.location_id in served and s.on_hand - s.reserved > 0]
    routed = [routing_repository.order_for_routing(o, _as_ordered(o)) for o in orders]
    return Window(since, until, build_instance(settings, locations, stock, routed), orders)


def _as_ordered(order: Order) -> dict[str, int]:
    """Units per GTIN as the order was placed (cancellations came later)."""
    wanted: dict[str, int] = defaultdict(int)
    for line in order.lines:
        wanted[line.gtin] += line.qty
    return dict(wanted)


def under(base: routing.Instance, policy: Policy) -> routing.Instance:
    """The window's instance as `policy` sees it: its split penalty, and its safety stock."""
    cost_model = base.params if policy.split_penalty is None else dataclasses.replace(base.params, split_penalty=policy.split_penalty)
    stock = base.stock if policy.safety_stock == "recorded" else tuple(dataclasses.replace(s, safety=0) for s in base.stock)
    return routing.Instance(cost_model, base.locations, stock, base.orders)


def solve(instance: routing.Instance, solver: str, seed: int = 0) -> tuple[list[routing.Shipment], routing.SolverInfo]:
    """The shipments `solver` plans for the instance: greedy (the rule engine), optimised (the batch optimiser, within
    OPTIMISER_SECONDS) or realtime (order by order as intake routes them, cheapest for each against what is left)."""
    if solver == "greedy":
        plan = routing.solve_greedy(instance)
    elif solver == "optimised":
        plan = routing.solve_optimal(instance, routing.Options(time_limit=OPTIMISER_SECONDS, seed=seed, workers=OPTIMISER_WORKERS))
    else:
        start = time.perf_counter()
        state = routing.RoutingState(instance)
        shipments = [s for order in instance.orders for s in state.reserve(order).shipments]
        return shipments, routing.SolverInfo("realtime", time.perf_counter() - start, "heuristic")
    assert plan.solver is not None
    return list(plan.shipments), plan.solver


def plan_kpis(instance: routing.Instance, shipments: Sequence[routing.Shipment]) -> dict[str, Any]:
    """The KPIS of planned shipments, measured against `instance` (its cost model and stock)."""
    cost, violations, unfilled, priced = evaluate(instance, list(shipments))
    orders = {o.id: o for o in instance.orders}
    by_id = {loc.id: loc for loc in instance.locations}
    per_order: dict[str, int] = defaultdict(int)
    late: set[str] = set()
    km = 0.0
    for s in priced:
        order = orders[s.order]
        per_order[s.order] += 1
        km += leg(instance.params, by_id[s.location], order, destination(order, by_id)).distance_km
        if order.promise_days is not None and s.delivery_days > order.promise_days:
            late.add(s.order)
    short = {u.order for u in unfilled}
    misses = {o.id for o in instance.orders if o.promise_days is not None and (o.id in late or o.id in short)}
    return _figures(len(instance.orders), cost.total, len(priced), sum(1 for n in per_order.values() if n > 1),
                    sum(u.qty for u in unfilled), len(misses), (km, len(priced)), shipping=cost.shipping, picking=cost.picking)


def _figures(orders: int, cost: float, parcels: int, splits: int, unfilled: int, misses: int, km: tuple[float, int], *,
             shipping: float | None, picking: float | None) -> dict[str, Any]:
    """The KPIS from their parts; `km`: the total over the parcels measured, and how many."""
    return {
        "orders": orders, "cost_per_order": round(cost / orders, 4) if orders else None, "cost": round(cost, 4),
        "shipping": None if shipping is None else round(shipping, 4), "picking": None if picking is None else round(picking, 4),
        "parcels": parcels, "split_orders": splits, "split_rate": splits / orders if orders else None, "unfilled_units": unfilled,
        "promise_misses": misses, "km_per_parcel": round(km[0] / km[1], 3) if km[1] else None,
    }


def decided_kpis(win: Window, decisions: dict[int, RoutingDecision]) -> dict[str, Any]:
    """The KPIS of what the service decided when the window's orders came in (see AS_DECIDED)."""
    instance = win.instance
    by_id = {loc.id: loc for loc in instance.locations}
    cost = km = 0.0
    parcels = splits = unfilled = misses = measured = 0
    for order, routed in zip(win.orders, instance.orders):
        decision = decisions.get(order.id)
        if decision is None:
            continue
        why = decision.explanation or {}
        short = sum(int(q) for q in (why.get("unfilled") or {}).values())
        places = list(decision.location_ids or [])
        cost += decision.cost
        parcels += len(places)
        splits += len(set(places)) > 1
        unfilled += short
        late = False
        for place in places:
            if place in by_id:
                lg = leg(instance.params, by_id[place], routed, destination(routed, by_id))
                km += lg.distance_km
                measured += 1
                late |= not lg.in_time(routed)
        misses += routed.promise_days is not None and (late or short > 0)
    return _figures(len(decisions), cost, parcels, splits, unfilled, misses, (km, measured), shipping=None, picking=None)


def compare(a: dict[str, Any], b: dict[str, Any]) -> tuple[dict[str, float | None], dict[str, str | None]]:
    """B − A for each KPI, and which of A and B is better on it (None: equal, or neither way is better)."""
    difference: dict[str, float | None] = {}
    better: dict[str, str | None] = {}
    for key, _, way in KPIS:
        x, y = a[key], b[key]
        difference[key] = None if x is None or y is None else round(y - x, 6)
        better[key] = None if way is None or difference[key] in (None, 0) else ("B" if (difference[key] or 0) < 0 else "A")
    return difference, better


def replay(session: Session, settings: Settings, since: datetime, until: datetime, a: Policy, b: Policy, seed: int = 0) -> dict[str, Any]:
    """The window replayed under policies A and B, with what was decided then: KPIs side by side (see the module)."""
    started = time.perf_counter()
    start, end = check_window(since, until, utcnow())
    win = window(session, settings, start, end)
    columns: list[dict[str, Any]] = []
    for name, policy in (("A", a), ("B", b)):
        instance = under(win.instance, policy)
        shipments, info = solve(instance, policy.solver, seed)
        # Measured with the service's cost model and the policy's own stock: comparable, and feasible as planned.
        same_stock = routing.Instance(win.instance.params, instance.locations, instance.stock, instance.orders)
        columns.append({
            "name": name, "solver": policy.solver, "safety_stock": policy.safety_stock,
            "split_penalty": instance.params.split_penalty, "kpis": plan_kpis(same_stock, shipments),
            "objective": round(evaluate(instance, shipments)[0].total, 4), "solver_status": info.status, "seconds": round(info.seconds, 3),
        })
    decisions = history.first_decisions(session, start, end)
    difference, better = compare(columns[0]["kpis"], columns[1]["kpis"])
    instance = win.instance
    return {
        "since": start, "until": end,
        "instance": {"orders": len(instance.orders), "units": sum(ln.qty for o in instance.orders for ln in o.lines),
                     "locations": len(instance.locations), "stock_items": len(instance.stock),
                     "products": len({s.sku for s in instance.stock}), "days": _days(start, end),
                     "split_penalty": instance.params.split_penalty},
        "policies": columns, "difference": difference, "better": better,
        "as_decided": {"undecided_orders": len(instance.orders) - len(decisions), "kpis": decided_kpis(win, decisions)} if decisions else None,
        "definitions": DEFINITIONS | {"as_decided": AS_DECIDED},
        "seconds": round(time.perf_counter() - started, 3),
    }

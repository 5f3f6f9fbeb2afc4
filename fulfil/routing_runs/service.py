"""Routing workflows of the service: route an order on intake, re-route it (ops override, store rejection)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

import routing
from routing.explain import explain
from routing.network import Network
from fulfil.config import Settings
from fulfil.errors import Conflict, InsufficientStock, NotFound
from fulfil.locations.index import Snapshot
from fulfil.models import Order, RoutingDecision, Shipment
from fulfil.models.base import utcnow
from fulfil.routing_runs import assign, repository
from fulfil.telemetry.metrics import REALTIME_ROUTE


def params(settings: Settings) -> routing.Params:
    """The cost model's parameters from the settings."""
    return routing.Params(
        parcel_base_cost=settings.routing_parcel_base_cost,
        cost_per_km=settings.routing_cost_per_km,
        split_penalty=settings.routing_split_penalty,
        unfilled_penalty=settings.routing_unfilled_penalty,
        transit_days=tuple((km, days) for km, days in settings.routing_transit_days),
    )


def build_instance(
    settings: Settings, locations: Sequence[routing.Location], stock: Sequence[routing.StockItem], orders: Sequence[routing.Order],
) -> routing.Instance:
    """A routing instance of live data. A number the routing library refuses (a location's cost of
    Infinity stored before the API bounded it, a setting out of range) is a 409 naming the record, not a 500."""
    try:
        return routing.Instance(params(settings), tuple(locations), tuple(stock), tuple(orders))
    except routing.InvalidInstance as exc:
        record = _record_of(exc.field, locations, stock, orders)
        raise Conflict(
            f"cannot route: {record}: {exc.message}", code="invalid_routing_data",
            details={"field": exc.field, "message": exc.message},
        ) from exc


def _record_of(field: str, locations: Sequence[routing.Location], stock: Sequence[routing.StockItem], orders: Sequence[routing.Order]) -> str:
    """`locations[3].pick_cost_per_unit` -> `location ST-LYON-01 pick_cost_per_unit`: the index means nothing outside the instance."""
    match = re.fullmatch(r"(locations|stock|orders)\[(\d+)\]\.(.+)", field)
    if match is None:
        if field.startswith("params."):
            return f"setting FULFIL_ROUTING_{field.split('.')[1].split('[')[0].upper()}"
        return field
    kind, i, rest = match.group(1), int(match.group(2)), match.group(3)
    if kind == "locations":
        return f"location {locations[i].id} {rest}"
    if kind == "stock":
        return f"stock of {stock[i].sku} at {stock[i].location} {rest}"
    return f"order {orders[i].id} {rest}"


def network_state(session: Session, settings: Settings, gtins: set[str], places: Snapshot) -> routing.RoutingState:
    """The real-time router's view of the network for these products, as order intake sees it: the active locations
    (`places`, checked against the database by fulfil.locations.index) with the parcels they can still prepare today,
    and the units no order or hold has reserved. Quotes route against it (route() reserves nothing), so a quote and
    the order that follows are decided by the same cost model.

    What depends only on the locations (the network's index and coordinate arrays) is built once per locations
    revision; each call reads the day's parcels and the products' stock."""
    cost_model = params(settings)
    base = places.memo(("routing-network", cost_model), lambda: _base_network(settings, places))
    used = repository.used_today(session)
    capacity = {p.id: max(0, p.capacity_per_day - used[p.id]) for p in places.places if p.capacity_per_day is not None and used.get(p.id)}
    now = utcnow()
    capacity |= {p.id: 0 for p in places.places if repository.paused(p.paused_until, now)}
    stock = [item for item in repository.stock(session, gtins, active_only=False) if item.location in places.by_id]
    try:
        return routing.RoutingState(base.restocked(capacity, stock))
    except routing.InvalidInstance as exc:
        record = _record_of(exc.field, list(base.locations), stock, [])
        raise Conflict(f"cannot route: {record}: {exc.message}", code="invalid_routing_data", details={"field": exc.field, "message": exc.message}) from exc


def _base_network(settings: Settings, places: Snapshot) -> Network:
    """The routing network of the active locations at their full daily capacity, with no stock."""
    locations = [
        routing.Location(p.id, p.kind.value, p.lat, p.lon, p.capacity_per_day, p.pick_cost_per_unit, p.handling_days) for p in places.places
    ]
    return routing.RoutingState(build_instance(settings, locations, [], [])).net


@dataclass(frozen=True)
class Routed:
    """The outcome of routing one order: the decision recorded and the shipments created."""

    decision: RoutingDecision
    shipments: list[Shipment]


def route_order(
    session: Session, order: Order, settings: Settings, *, actor: str, reason: str, exclude: set[str] | None = None,
    only: str | None = None, solver: str = "realtime",
) -> Routed:
    """Route what is left of an order (all shipments nothing has started on are re-decided).

    Real time: the order alone against current stock and capacity, cheapest plan by the cost model.
    Racing orders may take the stock first: then the reservation fails and the order is routed again
    against the new state, up to `routing_realtime_retries` times. `only` forces one location (ops override).
    """
    last_error: InsufficientStock | None = None
    for _attempt in range(settings.routing_realtime_retries):
        try:
            with session.begin_nested(), REALTIME_ROUTE.time():
                return _route_once(session, order, settings, actor=actor, reason=reason, exclude=exclude or set(), only=only, solver=solver)
        except InsufficientStock as exc:
            last_error = exc
            session.expire_all()
            reloaded = repository.order_with_shipments(session, order.id)
            assert reloaded is not None
            order = reloaded
    assert last_error is not None
    raise Conflict("stock kept changing while routing this order; try again", details=last_error.details, code="routing_contention")


def _route_once(session: Session, order: Order, settings: Settings, *, actor: str, reason: str, exclude: set[str], only: str | None, solver: str) -> Routed:
    movable = [s for s in order.shipments if s.status in assign.MOVABLE]
    kept = [s for s in assign.live_shipments(order) if s.status not in assign.MOVABLE]
    remaining = assign.remaining_units(order, kept)
    excluded = assign.excluded_locations(order) | exclude
    locations = repository.locations(session, exclude_shipments=[s.id for s in movable])
    if only is not None:
        if only not in {loc.id for loc in locations}:
            raise NotFound(f"location {only} not found or inactive", details={"location_id": only})
        excluded |= {loc.id for loc in locations if loc.id != only}
    # A location that short-picked a product of this order is not asked for it again (its other products may be).
    shorted = repository.shorted(session, [order.id])[order.id]
    stock = [item for item in repository.stock(session, set(remaining), held_by=movable) if (item.location, item.sku) not in shorted]
    instance = build_instance(
        settings,
        locations,
        stock,
        [repository.order_for_routing(order, remaining, excluded, existing_shipments=len(kept))],
    )
    state = routing.RoutingState(instance)
    r_order = instance.orders[0]
    decision = state.route(r_order)
    alloc = {state.net.index[s.location]: {ln.sku: ln.qty for ln in s.lines} for s in decision.shipments}
    explanation: dict[str, Any] = explain(state.net, [alloc]).get(r_order.id, {}) if r_order.lines else {}
    before = sorted({s.location_id for s in movable})
    assign.supersede_movable(session, order, actor, "re-routed")
    created = assign.create_shipments(session, order, decision.shipments, actor, kept)
    now = utcnow()
    for old in repository.decisions(session, order.id):
        if old.superseded_at is None:
            old.superseded_at = now
    record = RoutingDecision(
        order_id=order.id,
        location_ids=[s.location for s in decision.shipments],
        cost=round(decision.cost, 6),
        alternatives=[explanation["alternative"]] if explanation.get("alternative") else [],
        reason=_reason_text(reason, decision, excluded, before),
        explanation={
            **explanation, "unfilled": decision.unfilled, "excluded": sorted(excluded), "previous_locations": before, "promise_days": order.promise_days,
            **({"short_picked": [{"location_id": loc, "gtin": gtin} for loc, gtin in sorted(shorted)]} if shorted else {}),
        },
        solver=solver,
        decided_by=actor,
    )
    return _settled(session, order.id, record, created)


def _settled(session: Session, order_id: int, record: RoutingDecision, created: list[Shipment]) -> Routed:
    """Record a decision and derive the order's status from the shipments it now has."""
    session.add(record)
    session.flush()
    reloaded = repository.order_with_shipments(session, order_id)
    assert reloaded is not None
    assign.refresh_status(reloaded, reloaded.shipments)
    session.flush()
    return Routed(record, created)


def _reason_text(reason: str, decision: routing.Decision, excluded: set[str], before: list[str]) -> str:
    where = ", ".join(s.location for s in decision.shipments) or "nowhere"
    parts = [f"{reason}: {len(decision.shipments)} parcel(s) from {where}, cost {decision.cost:.2f}"]
    if decision.unfilled:
        parts.append("unfilled " + ", ".join(f"{q} x {g}" for g, q in sorted(decision.unfilled.items())))
    if excluded:
        parts.append("excluded " + ", ".join(sorted(excluded)))
    if before:
        parts.append("previously " + ", ".join(before))
    return "; ".join(parts)


def route_new_order(session: Session, order_id: int, settings: Settings, actor: str) -> Routed:
    """Route an order just taken in (same transaction as the intake)."""
    order = repository.order_with_shipments(session, order_id)
    if order is None:
        raise NotFound(f"order {order_id} not found", details={"order_id": order_id})
    return route_order(session, order, settings, actor=actor, reason="routed on intake")


def route_from_hold(
    session: Session, order_id: int, held: list[tuple[str, str, int]], settings: Settings, actor: str, hold_ref: str, quoted_cost: float,
) -> Routed:
    """Route an order that took a checkout hold (whose units were released in this transaction): when the held units
    cover the order, its shipments are the held option's parcels, as quoted (units it does not need stay released);
    otherwise the order is routed as usual, the released units among the stock it may use. Holds keep units, not
    parcel capacity: a held parcel is prepared even if its location filled its day's capacity since the quote."""
    order = repository.order_with_shipments(session, order_id)
    if order is None:
        raise NotFound(f"order {order_id} not found", details={"order_id": order_id})
    wanted = assign.remaining_units(order, [])
    plan: dict[str, dict[str, int]] = {}
    for location_id, gtin, qty in held:
        take = min(qty, wanted.get(gtin, 0))
        if take > 0:
            plan.setdefault(location_id, {})[gtin] = plan.get(location_id, {}).get(gtin, 0) + take
            wanted[gtin] -= take
    if any(wanted.values()):
        return route_order(session, order, settings, actor=actor, reason=f"routed on intake (hold {hold_ref} did not cover every unit)")
    parcels = [routing.Shipment(order.external_id, loc, tuple(routing.ShipmentLine(g, q) for g, q in lines.items())) for loc, lines in plan.items()]
    created = assign.create_shipments(session, order, parcels, actor, [])
    record = RoutingDecision(
        order_id=order.id, location_ids=list(plan), cost=round(quoted_cost, 6), alternatives=[],
        reason=f"placed against checkout hold {hold_ref}: {len(parcels)} parcel(s) from {', '.join(plan)}, as quoted",
        explanation={"hold": hold_ref, "unfilled": {}, "excluded": [], "previous_locations": []}, solver="hold", decided_by=actor,
    )
    return _settled(session, order.id, record, created)


def reroute(session: Session, order_id: int, settings: Settings, actor: str, *, exclude: set[str], only: str | None) -> Routed:
    """Ops override: decide again what nothing has started on, optionally excluding or forcing locations."""
    order = repository.order_with_shipments(session, order_id, lock=True)
    if order is None:
        raise NotFound(f"order {order_id} not found", details={"order_id": order_id})
    if order.status.value in ("shipped", "cancelled"):
        raise Conflict(f"order {order_id} is {order.status.value}: nothing to re-route", details={"order_id": order_id})
    reason = "re-routed by ops" + (f" to {only}" if only else "")
    return route_order(session, order, settings, actor=actor, reason=reason, exclude=exclude, only=only, solver="manual" if only else "realtime")

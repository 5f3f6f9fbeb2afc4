"""Read and write the public JSON formats: fulfil.routing-instance/1 and fulfil.routing-plan/1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from routing import limits
from routing.errors import InvalidDocument, InvalidInstance, InvalidPlan
from routing.model import (
    INSTANCE_FORMAT,
    PLAN_FORMAT,
    CostBreakdown,
    Instance,
    Location,
    Order,
    OrderLine,
    Params,
    Plan,
    Shipment,
    ShipmentLine,
    SolverInfo,
    StockItem,
    Unfilled,
)

LOCATION_KINDS = ("warehouse", "store")
CHANNELS = ("web", "store")


class _Reader:
    """Typed accessors that raise the document's error class with the field path."""

    def __init__(self, error: type[InvalidDocument]) -> None:
        self.error = error

    def obj(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(path, "must be an object")
        return value

    def array(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.error(path, "must be an array")
        return value

    def need(self, doc: dict[str, Any], key: str, path: str) -> Any:
        if key not in doc or doc[key] is None:
            raise self.error(_join(path, key), "is required")
        return doc[key]

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.error(path, "must be a non-empty string")
        return value

    def number(self, value: Any, path: str, allowed: limits.Range = limits.ANY) -> float:
        return limits.number(value, path, allowed, self.error)

    def integer(self, value: Any, path: str, allowed: limits.Range) -> int:
        return limits.integer(value, path, allowed, self.error)

    def choice(self, value: Any, path: str, choices: tuple[str, ...]) -> str:
        if value not in choices:
            raise self.error(path, f"must be one of {', '.join(choices)}")
        return str(value)

    def format(self, doc: dict[str, Any], expected: str) -> None:
        if doc.get("format") != expected:
            raise self.error("format", f"must be {expected!r}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


_INSTANCE = _Reader(InvalidInstance)
_PLAN = _Reader(InvalidPlan)


def _params(doc: dict[str, Any]) -> Params:
    r = _INSTANCE
    p = r.obj(r.need(doc, "params", ""), "params")
    transit = limits.transit_table(r.array(r.need(p, "transit_days", "params"), "params.transit_days"))
    return Params(
        parcel_base_cost=r.number(r.need(p, "parcel_base_cost", "params"), "params.parcel_base_cost", limits.MONEY),
        cost_per_km=r.number(r.need(p, "cost_per_km", "params"), "params.cost_per_km", limits.COST_PER_KM),
        split_penalty=r.number(r.need(p, "split_penalty", "params"), "params.split_penalty", limits.MONEY),
        unfilled_penalty=r.number(r.need(p, "unfilled_penalty", "params"), "params.unfilled_penalty", limits.MONEY),
        transit_days=transit,
    )


def _location(raw: Any, path: str) -> Location:
    r = _INSTANCE
    d = r.obj(raw, path)
    capacity = d.get("capacity")
    return Location(
        id=r.string(r.need(d, "id", path), path + ".id"),
        kind=r.choice(r.need(d, "kind", path), path + ".kind", LOCATION_KINDS),
        lat=r.number(r.need(d, "lat", path), path + ".lat", limits.LAT),
        lon=r.number(r.need(d, "lon", path), path + ".lon", limits.LON),
        capacity=None if capacity is None else r.integer(capacity, path + ".capacity", limits.UNITS),
        pick_cost_per_unit=r.number(r.need(d, "pick_cost_per_unit", path), path + ".pick_cost_per_unit", limits.MONEY),
        handling_days=r.integer(d.get("handling_days", 0), path + ".handling_days", limits.DAYS),
    )


def _order(raw: Any, path: str, stores: set[str], known: set[str]) -> Order:
    r = _INSTANCE
    d = r.obj(raw, path)
    lines_raw = r.array(r.need(d, "lines", path), path + ".lines")
    if not lines_raw:
        raise InvalidInstance(path + ".lines", "must not be empty")
    lines = []
    for j, line in enumerate(lines_raw):
        lp = f"{path}.lines[{j}]"
        ld = r.obj(line, lp)
        lines.append(OrderLine(r.string(r.need(ld, "sku", lp), lp + ".sku"), r.integer(r.need(ld, "qty", lp), lp + ".qty", limits.QTY)))
    ship_to = d.get("ship_to")
    pickup = d.get("pickup_at")
    if (ship_to is None) == (pickup is None):
        raise InvalidInstance(path + ".ship_to", "an order has exactly one of ship_to and pickup_at")
    dest: tuple[float, float] | None = None
    if ship_to is not None:
        sd = r.obj(ship_to, path + ".ship_to")
        dest = (
            r.number(r.need(sd, "lat", path + ".ship_to"), path + ".ship_to.lat", limits.LAT),
            r.number(r.need(sd, "lon", path + ".ship_to"), path + ".ship_to.lon", limits.LON),
        )
    if pickup is not None and r.string(pickup, path + ".pickup_at") not in stores:
        raise InvalidInstance(path + ".pickup_at", f"{pickup!r} is not a store of this instance")
    promise = d.get("promise_days")
    exclude_raw = r.array(d.get("exclude_locations", []), path + ".exclude_locations")
    exclude = set()
    for j, loc in enumerate(exclude_raw):
        if r.string(loc, f"{path}.exclude_locations[{j}]") not in known:
            raise InvalidInstance(f"{path}.exclude_locations[{j}]", f"unknown location {loc!r}")
        exclude.add(loc)
    return Order(
        id=r.string(r.need(d, "id", path), path + ".id"),
        channel=r.choice(r.need(d, "channel", path), path + ".channel", CHANNELS),
        lines=tuple(lines),
        ship_to=dest,
        pickup_at=pickup,
        promise_days=None if promise is None else r.integer(promise, path + ".promise_days", limits.DAYS),
        exclude_locations=frozenset(exclude),
    )


def instance_from_dict(doc: Any) -> Instance:
    """Parse and validate an instance document; raise InvalidInstance naming the bad field."""
    r = _INSTANCE
    d = r.obj(doc, "")
    r.format(d, INSTANCE_FORMAT)
    params = _params(d)
    locations = [_location(x, f"locations[{i}]") for i, x in enumerate(r.array(r.need(d, "locations", ""), "locations"))]
    ids: set[str] = set()
    for i, loc in enumerate(locations):
        if loc.id in ids:
            raise InvalidInstance(f"locations[{i}].id", f"duplicate location id {loc.id!r}")
        ids.add(loc.id)
    stores = {loc.id for loc in locations if loc.kind == "store"}
    stock: list[StockItem] = []
    seen: set[tuple[str, str]] = set()
    for i, raw in enumerate(r.array(r.need(d, "stock", ""), "stock")):
        path = f"stock[{i}]"
        s = r.obj(raw, path)
        loc_id = r.string(r.need(s, "location", path), path + ".location")
        if loc_id not in ids:
            raise InvalidInstance(path + ".location", f"unknown location {loc_id!r}")
        sku = r.string(r.need(s, "sku", path), path + ".sku")
        if (loc_id, sku) in seen:
            raise InvalidInstance(path, f"duplicate stock entry for ({loc_id!r}, {sku!r})")
        seen.add((loc_id, sku))
        on_hand = r.integer(r.need(s, "on_hand", path), path + ".on_hand", limits.UNITS)
        stock.append(StockItem(loc_id, sku, on_hand, r.integer(s.get("safety", 0), path + ".safety", limits.UNITS)))
    orders = [_order(x, f"orders[{i}]", stores, ids) for i, x in enumerate(r.array(r.need(d, "orders", ""), "orders"))]
    order_ids: set[str] = set()
    for i, order in enumerate(orders):
        if order.id in order_ids:
            raise InvalidInstance(f"orders[{i}].id", f"duplicate order id {order.id!r}")
        order_ids.add(order.id)
    return Instance(params, tuple(locations), tuple(stock), tuple(orders))


def instance_to_dict(instance: Instance) -> dict[str, Any]:
    """The JSON document of an instance."""
    p = instance.params
    orders = []
    for o in instance.orders:
        od: dict[str, Any] = {"id": o.id, "channel": o.channel}
        if o.ship_to is not None:
            od["ship_to"] = {"lat": o.ship_to[0], "lon": o.ship_to[1]}
        if o.pickup_at is not None:
            od["pickup_at"] = o.pickup_at
        if o.promise_days is not None:
            od["promise_days"] = o.promise_days
        if o.exclude_locations:
            od["exclude_locations"] = sorted(o.exclude_locations)
        od["lines"] = [{"sku": line.sku, "qty": line.qty} for line in o.lines]
        orders.append(od)
    locations = []
    for loc in instance.locations:
        ld: dict[str, Any] = {"id": loc.id, "kind": loc.kind, "lat": loc.lat, "lon": loc.lon}
        if loc.capacity is not None:
            ld["capacity"] = loc.capacity
        ld["pick_cost_per_unit"] = loc.pick_cost_per_unit
        ld["handling_days"] = loc.handling_days
        locations.append(ld)
    return {
        "format": INSTANCE_FORMAT,
        "params": {
            "parcel_base_cost": p.parcel_base_cost,
            "cost_per_km": p.cost_per_km,
            "split_penalty": p.split_penalty,
            "unfilled_penalty": p.unfilled_penalty,
            "transit_days": [[km, days] for km, days in p.transit_days],
        },
        "locations": locations,
        "stock": [{"location": s.location, "sku": s.sku, "on_hand": s.on_hand, "safety": s.safety} for s in instance.stock],
        "orders": orders,
    }


def _sku_lines(raw: Any, path: str) -> tuple[ShipmentLine, ...]:
    r = _PLAN
    lines = []
    for j, line in enumerate(r.array(raw, path)):
        lp = f"{path}[{j}]"
        ld = r.obj(line, lp)
        lines.append(ShipmentLine(r.string(r.need(ld, "sku", lp), lp + ".sku"), r.integer(r.need(ld, "qty", lp), lp + ".qty", limits.QTY)))
    return tuple(lines)


def plan_from_dict(doc: Any) -> Plan:
    """Parse a plan document; raise InvalidPlan naming the bad field. Informative fields are kept as read."""
    r = _PLAN
    d = r.obj(doc, "")
    r.format(d, PLAN_FORMAT)
    shipments = []
    for i, raw in enumerate(r.array(r.need(d, "shipments", ""), "shipments")):
        path = f"shipments[{i}]"
        s = r.obj(raw, path)
        lines = _sku_lines(r.need(s, "lines", path), path + ".lines")
        if not lines:
            raise InvalidPlan(path + ".lines", "must not be empty")
        shipments.append(
            Shipment(
                order=r.string(r.need(s, "order", path), path + ".order"),
                location=r.string(r.need(s, "location", path), path + ".location"),
                lines=lines,
                cost=r.number(s.get("cost", 0.0), path + ".cost"),
                delivery_days=r.integer(s.get("delivery_days", 0), path + ".delivery_days", limits.DAYS),
            )
        )
    unfilled = []
    for i, raw in enumerate(r.array(d.get("unfilled", []), "unfilled")):
        path = f"unfilled[{i}]"
        u = r.obj(raw, path)
        unfilled.append(
            Unfilled(
                r.string(r.need(u, "order", path), path + ".order"),
                r.string(r.need(u, "sku", path), path + ".sku"),
                r.integer(r.need(u, "qty", path), path + ".qty", limits.UNITS),
            )
        )
    c = r.obj(d.get("cost", {"total": 0.0}), "cost")
    cost = CostBreakdown(*(r.number(c.get(k, 0.0), "cost." + k) for k in ("total", "shipping", "picking", "split", "unfilled")))
    lb = d.get("lower_bound")
    solver = d.get("solver")
    info = None
    if isinstance(solver, dict):
        info = SolverInfo(str(solver.get("name", "")), float(solver.get("seconds", 0.0) or 0.0), str(solver.get("status", "")))
    explanations = d.get("explanations")
    return Plan(
        tuple(shipments),
        tuple(unfilled),
        cost,
        None if lb is None else r.number(lb, "lower_bound"),
        info,
        explanations if isinstance(explanations, dict) else None,
    )


def _money(value: float) -> float:
    return round(value, 6)


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The JSON document of a plan (money rounded to 1e-6)."""
    doc: dict[str, Any] = {
        "format": PLAN_FORMAT,
        "shipments": [
            {
                "order": s.order,
                "location": s.location,
                "lines": [{"sku": line.sku, "qty": line.qty} for line in s.lines],
                "cost": _money(s.cost),
                "delivery_days": s.delivery_days,
            }
            for s in plan.shipments
        ],
        "unfilled": [{"order": u.order, "sku": u.sku, "qty": u.qty} for u in plan.unfilled],
        "cost": {k: _money(getattr(plan.cost, k)) for k in ("total", "shipping", "picking", "split", "unfilled")},
        "lower_bound": None if plan.lower_bound is None else _money(plan.lower_bound),
    }
    if plan.solver is not None:
        doc["solver"] = {"name": plan.solver.name, "seconds": round(plan.solver.seconds, 4), "status": plan.solver.status, **plan.solver.details}
    if plan.explanations is not None:
        doc["explanations"] = plan.explanations
    return doc


def _load(path: str | Path, error: type[InvalidDocument]) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise error("", f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error("", f"{path} is not JSON: {exc}") from exc


def load_instance(path: str | Path) -> Instance:
    """Read and validate an instance file."""
    return instance_from_dict(_load(path, InvalidInstance))


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file."""
    return plan_from_dict(_load(path, InvalidPlan))


def dumps(doc: dict[str, Any]) -> str:
    """Serialise a document the way the CLI writes it."""
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"

"""Recompute a plan's feasibility and cost from the instance alone."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from routing.cost import available_stock, destination, leg, shipment_cost, split_cost, unfilled_cost
from routing.model import CostBreakdown, Instance, Plan, Shipment, Unfilled

COST_TOLERANCE = 1e-4


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What `check` found: feasibility, violations, recomputed cost and whether the plan's own cost agrees."""

    feasible: bool
    violations: tuple[str, ...]
    cost: CostBreakdown
    plan_cost: float
    cost_agrees: bool
    shipments: int
    orders: int
    split_orders: int
    unfilled_units: int
    lower_bound: float | None = None
    gap: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report printed by `fulfil routing check`."""
        doc = asdict(self)
        doc["violations"] = list(self.violations)
        doc["cost"] = {k: round(v, 6) for k, v in asdict(self.cost).items()}
        return doc


def evaluate(instance: Instance, shipments: tuple[Shipment, ...] | list[Shipment]) -> tuple[CostBreakdown, list[str], list[Unfilled], list[Shipment]]:
    """Cost breakdown, violations, unfilled units and the shipments with cost and days filled in."""
    params = instance.params
    locations = {loc.id: loc for loc in instance.locations}
    orders = {o.id: o for o in instance.orders}
    avail = available_stock(instance)
    violations: list[str] = []
    used: dict[tuple[str, str], int] = defaultdict(int)
    parcels: dict[str, int] = defaultdict(int)
    per_order: dict[str, int] = defaultdict(int)
    shipped: dict[tuple[str, str], int] = defaultdict(int)
    shipping = picking = 0.0
    priced: list[Shipment] = []
    for i, s in enumerate(shipments):
        order = orders.get(s.order)
        loc = locations.get(s.location)
        if order is None or loc is None:
            violations.append(f"shipments[{i}]: unknown {'order' if order is None else 'location'} "
                              f"{s.order if order is None else s.location!r}")
            continue
        dest = destination(order, locations)
        lg = leg(params, loc, order, dest)
        units = s.units
        cost = shipment_cost(lg.parcel_cost, loc.pick_cost_per_unit, units)
        shipping += lg.parcel_cost
        picking += cost - lg.parcel_cost
        priced.append(Shipment(s.order, s.location, s.lines, cost, lg.delivery_days))
        if not lg.in_time(order):
            violations.append(f"shipments[{i}]: {s.location} delivers {s.order} in {lg.delivery_days} days, promise is {order.promise_days}")
        if s.location in order.exclude_locations:
            violations.append(f"shipments[{i}]: {s.location} is excluded for {s.order}")
        parcels[s.location] += 1
        per_order[s.order] += 1
        for line in s.lines:
            used[(s.location, line.sku)] += line.qty
            shipped[(s.order, line.sku)] += line.qty
    for (loc_id, sku), qty in sorted(used.items()):
        have = avail.get((loc_id, sku), 0)
        if qty > have:
            violations.append(f"stock: {loc_id} ships {qty} of {sku}, only {have} available net of safety stock")
    for loc_id, n in sorted(parcels.items()):
        cap = locations[loc_id].capacity
        if cap is not None and n > cap:
            violations.append(f"capacity: {loc_id} prepares {n} shipments, capacity is {cap}")
    unfilled: list[Unfilled] = []
    split = 0.0
    for order in instance.orders:
        split += split_cost(params, per_order.get(order.id, 0), order.existing_shipments)
        for sku, qty in order.demand().items():
            got = shipped.pop((order.id, sku), 0)
            if got > qty:
                violations.append(f"order {order.id}: ships {got} of {sku}, ordered {qty}")
            elif got < qty:
                unfilled.append(Unfilled(order.id, sku, qty - got))
    for (order_id, sku), qty in sorted(shipped.items()):
        violations.append(f"order {order_id}: ships {qty} of {sku}, which it did not order")
    missing = unfilled_cost(params, sum(u.qty for u in unfilled))
    total = shipping + picking + split + missing
    return CostBreakdown(total, shipping, picking, split, missing), violations, unfilled, priced


def check(instance: Instance, plan: Plan) -> CheckReport:
    """Recompute feasibility and cost of `plan` from `instance` alone."""
    cost, violations, unfilled, _ = evaluate(instance, plan.shipments)
    per_order: dict[str, int] = defaultdict(int)
    for s in plan.shipments:
        per_order[s.order] += 1
    agrees = abs(cost.total - plan.cost.total) <= COST_TOLERANCE + 1e-9 * abs(cost.total)
    gap = None
    if plan.lower_bound is not None and plan.lower_bound > 0:
        gap = cost.total / plan.lower_bound - 1.0
    extra: dict[str, Any] = {}
    if plan.lower_bound is not None and cost.total < plan.lower_bound - COST_TOLERANCE and not violations:
        extra["warning"] = f"lower_bound {plan.lower_bound} exceeds the cost {cost.total:.6f} of this feasible plan"
    return CheckReport(
        feasible=not violations,
        violations=tuple(violations),
        cost=cost,
        plan_cost=plan.cost.total,
        cost_agrees=agrees,
        shipments=len(plan.shipments),
        orders=len(instance.orders),
        split_orders=sum(1 for n in per_order.values() if n > 1),
        unfilled_units=sum(u.qty for u in unfilled),
        lower_bound=plan.lower_bound,
        gap=gap,
        extra=extra,
    )

"""Re-optimise assigned but not yet started shipments jointly, keeping started ones, and report what moved."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from routing.model import Instance, OrderLine, Plan, Shipment, SolverInfo, StockItem
from routing.plan import build_plan
from routing.network import Network
from routing.solver import Options, solve_optimal


@dataclass(frozen=True, slots=True)
class Move:
    """An order whose set of shipping locations changed."""

    order: str
    before: tuple[str, ...]
    after: tuple[str, ...]


def reoptimize(instance: Instance, current: Plan, started: set[tuple[str, str]], options: Options | None = None) -> tuple[Plan, list[Move]]:
    """Re-solve every shipment not in `started` ((order, location) pairs); started ones stay as they are."""
    kept = [s for s in current.shipments if (s.order, s.location) in started]
    used: dict[tuple[str, str], int] = defaultdict(int)
    parcels: dict[str, int] = defaultdict(int)
    shipped: dict[tuple[str, str], int] = defaultdict(int)
    per_order: dict[str, int] = defaultdict(int)
    for s in kept:
        parcels[s.location] += 1
        per_order[s.order] += 1
        for line in s.lines:
            used[(s.location, line.sku)] += line.qty
            shipped[(s.order, line.sku)] += line.qty
    # What the kept shipments consume is no longer on hand for the others.
    stock = tuple(replace(st, on_hand=max(0, st.on_hand - used.get((st.location, st.sku), 0))) for st in instance.stock)
    locations = tuple(
        loc if loc.capacity is None else replace(loc, capacity=max(0, loc.capacity - parcels.get(loc.id, 0)))
        for loc in instance.locations
    )
    orders = []
    for order in instance.orders:
        lines: list[OrderLine] = []
        for ol in order.lines:
            take = min(ol.qty, shipped.get((order.id, ol.sku), 0))
            shipped[(order.id, ol.sku)] -= take
            if ol.qty > take:
                lines.append(replace(ol, qty=ol.qty - take))
        if lines:
            orders.append(replace(order, lines=tuple(lines), existing_shipments=per_order.get(order.id, 0)))
    residual = Instance(instance.params, locations, tuple(StockItem(s.location, s.sku, s.on_hand, s.safety) for s in stock), tuple(orders))
    partial = solve_optimal(residual, options)
    merged = tuple(kept) + tuple(partial.shipments)
    net = Network(instance)
    allocs: list[dict[int, dict[str, int]]] = [{} for _ in net.orders]
    for s in merged:
        o = net.order_index[s.order]
        at = allocs[o].setdefault(net.index[s.location], {})
        for line in s.lines:
            at[line.sku] = at.get(line.sku, 0) + line.qty
    info = replace(partial.solver, name="reoptimize") if partial.solver is not None else SolverInfo("reoptimize", 0.0, "")
    plan = build_plan(net, allocs, info, None)
    if partial.lower_bound is not None:
        # The kept shipments' cost is fixed, so the residual's bound plus that fixed part bounds the whole.
        fixed = plan.cost.total - partial.cost.total
        plan = replace(plan, lower_bound=min(plan.cost.total, partial.lower_bound + fixed))
    return plan, _moves(current.shipments, plan.shipments)


def _moves(before: tuple[Shipment, ...], after: tuple[Shipment, ...]) -> list[Move]:
    """Orders whose shipping locations differ between two plans."""
    old: dict[str, set[str]] = defaultdict(set)
    new: dict[str, set[str]] = defaultdict(set)
    for s in before:
        old[s.order].add(s.location)
    for s in after:
        new[s.order].add(s.location)
    return [Move(o, tuple(sorted(old[o])), tuple(sorted(new[o]))) for o in sorted(set(old) | set(new)) if old[o] != new[o]]

"""Turn per-order allocations into a plan with the cost model's figures."""

from __future__ import annotations

from routing.check import evaluate
from routing.model import Plan, Shipment, ShipmentLine, SolverInfo
from routing.network import Network, OrderAlloc


def allocations_cost(net: Network, allocs: list[OrderAlloc]) -> float:
    """Total cost of allocations (one per order of the network), via the checker's evaluation."""
    return evaluate(net.instance, shipments_of(net, allocs))[0].total


def shipments_of(net: Network, allocs: list[OrderAlloc]) -> list[Shipment]:
    """Shipments in order sequence, then by location id; lines in the order's sku sequence."""
    out: list[Shipment] = []
    for od, alloc in zip(net.orders, allocs):
        for loc in sorted(alloc, key=net.loc_id):
            lines = tuple(ShipmentLine(sku, alloc[loc][sku]) for sku in od.demand if alloc[loc].get(sku, 0) > 0)
            if lines:
                out.append(Shipment(od.order.id, net.loc_id(loc), lines))
    return out


def build_plan(net: Network, allocs: list[OrderAlloc], solver: SolverInfo, lower_bound: float | None) -> Plan:
    """A plan whose costs, days and unfilled lines are computed by the cost model from the instance."""
    cost, _violations, unfilled, priced = evaluate(net.instance, shipments_of(net, allocs))
    return Plan(tuple(priced), tuple(unfilled), cost, lower_bound, solver)

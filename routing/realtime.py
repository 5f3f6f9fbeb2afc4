"""Real-time routing: an in-memory index of stock and capacity that routes one order and reserves it."""

from __future__ import annotations

from dataclasses import dataclass

from routing.cost import destination, leg
from routing.errors import UnknownOrder
from routing.limits import check_order
from routing.model import Instance, Order, Shipment, ShipmentLine
from routing.network import Network, OrderAlloc, Resources
from routing.route import best_route


@dataclass(frozen=True, slots=True)
class Decision:
    """Where one order goes: its shipments (with cost and days), unfilled units per sku, total cost."""

    order: str
    shipments: tuple[Shipment, ...]
    unfilled: dict[str, int]
    cost: float


class RoutingState:
    """Locations, usable stock and remaining capacity; route(), reserve() and release() orders against it."""

    def __init__(self, instance: Instance | Network) -> None:
        """The state of an instance (its orders are compiled, not reserved), or of a network already built."""
        self.net = instance if isinstance(instance, Network) else Network(instance)
        self.res = Resources(self.net)
        self.reserved: dict[str, OrderAlloc] = {}

    def route(self, order: Order) -> Decision:
        """The cheapest way to serve `order` from what is left, without reserving it."""
        check_order(order, "order")
        od = self.net.compile(order)
        cost, alloc = best_route(self.net, od, self.res)
        return self._decision(order, alloc, cost)

    def reserve(self, order: Order) -> Decision:
        """Route `order` and take its stock and parcels from the state."""
        check_order(order, "order")
        if order.id in self.reserved:
            self.release(order.id)
        od = self.net.compile(order)
        cost, alloc = best_route(self.net, od, self.res)
        self.res.take(alloc)
        self.reserved[order.id] = alloc
        return self._decision(order, alloc, cost)

    def release(self, order_id: str) -> None:
        """Give back what a reserved order holds (cancelled, or about to be re-routed)."""
        try:
            alloc = self.reserved.pop(order_id)
        except KeyError:
            raise UnknownOrder(order_id) from None
        self.res.give(alloc)

    def available(self, location: str, sku: str) -> int:
        """Units of `sku` still free at `location`."""
        return self.res.avail.get((self.net.index[location], sku), 0)

    def _decision(self, order: Order, alloc: OrderAlloc, cost: float) -> Decision:
        shipments = []
        dest = destination(order, self.net.by_id)
        shipped: dict[str, int] = {}
        for loc in sorted(alloc, key=self.net.loc_id):
            location = self.net.locations[loc]
            lg = leg(self.net.params, location, order, dest)
            lines = tuple(ShipmentLine(s, n) for s, n in alloc[loc].items())
            for s, n in alloc[loc].items():
                shipped[s] = shipped.get(s, 0) + n
            units = sum(n for n in alloc[loc].values())
            shipments.append(Shipment(order.id, location.id, lines, lg.parcel_cost + location.pick_cost_per_unit * units, lg.delivery_days))
        unfilled = {s: q - shipped.get(s, 0) for s, q in order.demand().items() if q > shipped.get(s, 0)}
        return Decision(order.id, tuple(shipments), unfilled, cost)

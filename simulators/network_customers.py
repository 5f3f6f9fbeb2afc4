"""The demo network's parcels between locations and its customers (simulators.network_sim): ship-to-store parcels
arriving and staged, customers told, collecting on time, late or never, home deliveries, and returns in another store."""

from __future__ import annotations

from typing import Any

from simulators.network_model import Place, PlacedOrder, SIGHTING_TICKS, km
from simulators.network_readers import DOCK


class Customers:
    """Mixed into simulators.network_sim.Simulation: these steps use its clock (`at`, `wall`), its calls to the
    service (`_call`) and its state."""

    def _arrives(self, store: str, shipment_id: int, sscc_epc: str, order_id: int | None) -> None:
        """A ship-to-store parcel reaches its pickup store: its own tag is read at the dock; the staff stage it."""
        if self.hub is not None and store in self.hub:
            self.hub.sight(store, "dock", [(DOCK, [sscc_epc], SIGHTING_TICKS)])
        self.tally.add("parcels arrived at pickup stores")
        self.at(self.rng.uniform(120, 600), lambda: self._stage(store, shipment_id, order_id))

    def _stage(self, store: str, shipment_id: int, order_id: int | None) -> None:
        token = self._picker(store)
        shipment = self._call("GET", f"/api/v1/shipments/{shipment_id}", token, what="shipment", location=store)
        if not isinstance(shipment, dict):
            return
        if shipment["status"] == "in_transit":  # the dock reader missed it: the label is scanned
            parcels = shipment.get("parcels") or []
            if not parcels or self._call("POST", "/api/v1/pickups/receive", token, {"sscc": parcels[-1]["sscc"]}, what="receive", location=store) is None:
                return
            self.tally.add("parcels received by label scan")
        else:
            self.tally.add("parcels received by rfid")
        if self._call("POST", f"/api/v1/shipments/{shipment_id}/ready", token, what="ready", location=store) is not None:
            self.tally.add("pickups ready")
            self._customer_told(order_id, shipment_id, store)

    def _customer_told(self, order_id: int | None, shipment_id: int, store: str) -> None:
        """The customer got the 'ready' message: comes on time, late, or never."""
        order = self._orders.get(order_id) if order_id is not None else None
        if order is None:  # an order of the demo's seed or of a person: not ours to collect
            return
        roll = self.rng.random()
        if roll < self.b.collect_on_time:
            delay, late = self.rng.uniform(*self.b.collect_minutes) * 60, False
        elif roll < self.b.collect_on_time + self.b.collect_late:
            delay, late = self.rng.uniform(*self.b.late_hours) * 3600, True
        else:
            self.tally.add("customers who never come")
            return
        self.at(delay, lambda: self._comes(order, shipment_id, store, late))

    def _comes(self, order: PlacedOrder, shipment_id: int, store: str, late: bool) -> None:
        full = self._call("GET", f"/api/v1/orders/{order.id}", self.creds.ops, what="order")
        if not isinstance(full, dict) or not full.get("pickup"):
            return
        code = full["pickup"]["code"]
        if order.kind == "curbside":
            if self._call("POST", f"/api/v1/pickups/{code}/checkin", None, {"bay": str(self.rng.randint(1, 12)), "car": "a grey Clio"}, what="checkin") is None:
                return
            self.tally.add("curbside check-ins")
            self.at(self.rng.uniform(*self.b.curbside_handover_minutes) * 60, lambda: self._hand_over(order, shipment_id, store, code, late))
        else:
            self._hand_over(order, shipment_id, store, code, late)

    def _hand_over(self, order: PlacedOrder, shipment_id: int, store: str, code: str, late: bool) -> None:
        answer = self._call("POST", f"/api/v1/shipments/{shipment_id}/handover", self._picker(store), {"pickup_code": code}, what="handover", location=store)
        if not isinstance(answer, dict):
            self.tally.add("customers turned away (expired)" if late else "handovers refused")
            return
        self.tally.add("pickups collected")
        if late:
            self.tally.add("pickups collected late")
        self._collected += 1
        if self.b.return_rate > 0 and self._collected % round(1 / self.b.return_rate) == 1 % round(1 / self.b.return_rate):  # the 1st, then every n-th
            elsewhere = [s for s in self.stores if s.id != store] or self.stores
            other = min(elsewhere, key=lambda s: km(s, self.places[store]) + self.rng.uniform(0, 150))
            self.at(self.rng.uniform(*self.b.return_minutes) * 60, lambda: self._return(order, other.id, answer))

    def _delivered(self, order: PlacedOrder, shipment: dict[str, Any]) -> None:
        self.tally.add("home deliveries delivered")
        if order.home is not None and self.rng.random() < self.b.home_return_rate:
            here = Place("home", "home", *order.home)
            nearest = min(self.stores, key=lambda s: km(s, here))
            self.at(self.rng.uniform(1, 5) * 86400, lambda: self._return(order, nearest.id, {"delivered": shipment["lines"]}))

    def _return(self, order: PlacedOrder, store: str, handed: dict[str, Any]) -> None:
        lines = handed.get("delivered") or []
        if not lines:
            return
        line = self.rng.choice(lines)
        body = {"external_id": f"RET-{order.external_id}", "location_id": store, "order_id": order.id,
                "items": [{"gtin": line["gtin"], "qty": 1, "grade": "resellable" if self.rng.random() < 0.9 else "damaged",
                           "reason": self.rng.choice(("too_small", "too_large", "changed_mind", "not_as_described"))}]}
        if self._call("POST", "/api/v1/returns", self._picker(store), body, what="return", location=store) is not None:
            self.tally.add("returns taken")
            if store != (order.pickup or order.origin):
                self.tally.add("returns taken in another store")

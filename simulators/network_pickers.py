"""The demo network's pickers (simulators.network_sim): at every location, an idle picker looks at the task queue and
works the most urgent task at human speeds: start, scan each unit (now and then a short pick), pack at the pack
station and wait for its RFID verdict, ship or make ready; chores and curbside handovers."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from rfid.epc import encode_sgtin96
from simulators.network_model import TABLE_CLEAR_WALL_S, VERIFY_WAIT_S, Worker


class Pickers:
    """Mixed into simulators.network_sim.Simulation: these steps use its clock (`at`, `wall`), its calls to the
    service (`_call`) and its state."""

    def _poll(self, w: Worker) -> None:
        """An idle picker looks at the queue: the most urgent task it can do, else a look again later."""
        if w.key in self._busy:
            return
        tasks = self._call("GET", f"/api/v1/stores/{w.location}/tasks", self._picker(w.location), what="tasks", location=w.location)
        for task in tasks if isinstance(tasks, list) else []:
            if self._take(w, task):
                return
        self.at(self.b.idle_poll_seconds * self.rng.uniform(0.7, 1.3), lambda: self._poll(w))

    def _take(self, w: Worker, task: dict[str, Any]) -> bool:
        kind, shipment = task["kind"], task.get("shipment_id")
        if kind == "pick" and shipment is not None:
            if (self._skip[w.location].get(shipment, -1.0) > self.t or shipment in self._taken or task.get("order_id") in self._people_orders
                    or not self._for_us(w.location, task)):
                return False
            self._busy.add(w.key)
            self._taken.add(shipment)
            self._start(w, shipment, task.get("order_id"))
            return True
        if kind == "curbside" and task.get("order_id") in self._orders:
            return False  # handed over by the customer's own step (the simulation knows the code)
        if kind in ("put_back", "cycle_count") and task.get("task_id") is not None and ("task", task["task_id"]) not in self._taken:
            self._busy.add(w.key)
            self._taken.add(("task", task["task_id"]))
            self.at(self.rng.uniform(60, 180), lambda: self._chore(w, task))
            return True
        return False

    def _for_us(self, location: str, task: dict[str, Any]) -> bool:
        """In the store kept for people, a pick waits a while for a person before a simulated picker takes it."""
        if location != self.b.people_store:
            return True
        since = datetime.fromisoformat(task["since"])
        return (datetime.now(UTC) - since).total_seconds() * self.speed >= self.b.people_grace_minutes * 60

    def _idle(self, w: Worker, after_s: float = 5.0, done: Any = None) -> None:
        self._busy.discard(w.key)
        self._taken.discard(done)
        self.at(after_s, lambda: self._poll(w))

    def _chore(self, w: Worker, task: dict[str, Any]) -> None:
        body: dict[str, Any] | None = None
        token, ref = self._picker(w.location), ("task", task["task_id"])
        if task["kind"] == "cycle_count" and task.get("gtin"):
            level = self._call("GET", f"/api/v1/stock/{w.location}/{task['gtin']}", token, what="stock", location=w.location)
            if not isinstance(level, dict):
                return self._idle(w, done=ref)
            body = {"counted": max(level["on_hand"], level["reserved"])}  # the books agree with the shelf after the short
        if self._call("POST", f"/api/v1/stores/{w.location}/tasks/{task['task_id']}/done", token, body, what="chore", location=w.location) is not None:
            self.tally.add(f"chores done: {task['kind']}")
        self._idle(w, done=ref)

    def _start(self, w: Worker, shipment_id: int, order_id: int | None) -> None:
        token = self._picker(w.location)
        if self._call("POST", f"/api/v1/shipments/{shipment_id}/start", token, what="start", location=w.location) is None:
            self._skip[w.location][shipment_id] = self.t + 1800  # claimed by a person, on hold, re-routed: another one
            return self._idle(w, 1.0, done=shipment_id)
        pick_list = self._call("GET", f"/api/v1/pick-lists?shipment_id={shipment_id}", token, what="pick list", location=w.location)
        if not isinstance(pick_list, dict):
            return self._idle(w, done=shipment_id)
        units = [(line["gtin"], line["qty"] - line["picked_qty"]) for line in pick_list["lines"] if line["qty"] > line["picked_qty"]]
        self.tally.add("picks started")
        self._scan(w, (shipment_id, order_id), units, [])

    def _unit_seconds(self, location: str) -> float:
        low, high = self.b.warehouse_seconds_per_unit if self.places[location].kind == "warehouse" else self.b.store_seconds_per_unit
        return self.rng.uniform(low, high)

    def _scan(self, w: Worker, ids: tuple[int, int | None], todo: list[tuple[str, int]], done: list[str]) -> None:
        """Walk to the next line and scan its units one by one; now and then the shelf is empty (a short pick)."""
        shipment_id = ids[0]
        if not todo:
            return self.at(self.rng.uniform(*self.b.packing_seconds), lambda: self._pack(w, ids, done))
        gtin, qty = todo[0]
        token = self._picker(w.location)
        if self.rng.random() < self.b.short_pick_rate:
            answer = self._call("POST", f"/api/v1/shipments/{shipment_id}/short", token, {"reason": "not_found", "lines": [{"gtin": gtin, "qty": qty}]},
                                headers={"Idempotency-Key": str(uuid.uuid4())}, what="short pick", location=w.location)
            if not isinstance(answer, dict):
                return self._idle(w, done=shipment_id)
            self.tally.add("short picks")
            if answer["shipment"]["status"] in ("rejected", "cancelled"):
                return self._idle(w, done=shipment_id)
            return self.at(self._unit_seconds(w.location), lambda: self._scan(w, ids, todo[1:], done))

        def one() -> None:
            answer = self._call("POST", f"/api/v1/shipments/{shipment_id}/scans", token, {"scan_id": uuid.uuid4().hex, "code": gtin},
                                what="scan", location=w.location)
            if not isinstance(answer, dict):
                return self._idle(w, done=shipment_id)  # cancelled or taken back meanwhile
            self.tally.add("units scanned")
            rest = [(gtin, qty - 1)] if qty > 1 else []
            self.at(self._unit_seconds(w.location), lambda: self._scan(w, ids, rest + todo[1:], done + [gtin]))
        self.at(self._unit_seconds(w.location), one)

    def _pack(self, w: Worker, ids: tuple[int, int | None], picked: list[str]) -> None:
        if self._call("POST", f"/api/v1/shipments/{ids[0]}/picked", self._picker(w.location), what="picked", location=w.location) is None:
            return self._idle(w, done=ids[0])
        self.tally.add("shipments picked")
        self._pack_when_clear(w, ids, picked)

    def _pack_when_clear(self, w: Worker, ids: tuple[int, int | None], picked: list[str]) -> None:
        """Pack at the worker's own station once it no longer sees the last parcel's tags (they would count as extra)."""
        if self.hub is not None and w.location in self.hub:
            wait = TABLE_CLEAR_WALL_S - self.hub.table_clear_since(w.location, w.port)
            if wait > 0:
                return self.at(self.wall(wait), lambda: self._pack_when_clear(w, ids, picked))
        packed = self._call("POST", f"/api/v1/shipments/{ids[0]}/pack", self._picker(w.location), {"station": w.station}, what="pack", location=w.location)
        if not isinstance(packed, dict):
            return self._idle(w, done=ids[0])
        self.tally.add("parcels packed")
        items = [self._unit_tag(w.location, gtin) for gtin in picked]
        if self.hub is not None and w.location in self.hub:
            self.hub.set_table(w.location, w.port, items + [packed["sscc_epc"]])
        self._await_verdict(w, ids, packed["sscc_epc"], time.monotonic() + VERIFY_WAIT_S)

    def _unit_tag(self, location: str, gtin: str) -> str:
        """The tag of a unit taken from the shelf: one delivered through the dock when there is one, else a unit
        source-tagged by the brand (never registered: it counts at the pack station all the same)."""
        shelf = self._shelf[location][gtin]
        if shelf:
            return shelf.pop(self.rng.randrange(len(shelf)))
        return encode_sgtin96(gtin, next(self._serials), self.prefix_length)

    def _await_verdict(self, w: Worker, ids: tuple[int, int | None], sscc_epc: str, deadline: float) -> None:
        token = self._picker(w.location)
        shipment_id = ids[0]
        shipment = self._call("GET", f"/api/v1/shipments/{shipment_id}", token, what="shipment", location=w.location)
        if not isinstance(shipment, dict):
            return self._done_packing(w, shipment_id)
        if shipment["status"] == "packed":
            if self.hub is not None and w.location in self.hub and time.monotonic() < deadline:
                return self.at(max(10.0, self.wall(0.5)), lambda: self._await_verdict(w, ids, sscc_epc, deadline))
            reason = "no reader at this pack station" if self.hub is None or w.location not in self.hub else "the pack station did not confirm in time"
            if self._call("POST", f"/api/v1/shipments/{shipment_id}/override", token, {"reason": reason}, what="override", location=w.location) is None:
                return self._done_packing(w, shipment_id)
            self.tally.add("parcels closed by hand")
        elif shipment["status"] == "verified":
            self.tally.add("parcels verified by rfid")
        else:
            return self._done_packing(w, shipment_id)
        self._dispatch(w, shipment, ids[1], sscc_epc)

    def _done_packing(self, w: Worker, shipment_id: int) -> None:
        if self.hub is not None:
            self.hub.set_table(w.location, w.port, [])
        self._idle(w, done=shipment_id)

    def _dispatch(self, w: Worker, shipment: dict[str, Any], order_id: int | None, sscc_epc: str) -> None:
        """A verified parcel: made ready here (the customer collects here), or shipped (home, or to the pickup store)."""
        location, token, sid = w.location, self._picker(w.location), shipment["id"]
        pickup = shipment.get("pickup_location_id")
        order = self._orders.get(order_id) if order_id is not None else None
        self._done_packing(w, sid)
        if pickup == location:
            if self._call("POST", f"/api/v1/shipments/{sid}/ready", token, what="ready", location=location) is not None:
                self.tally.add("pickups ready")
                self._customer_told(order_id, sid, location)
            return
        if self._call("POST", f"/api/v1/shipments/{sid}/ship", token, what="ship", location=location) is None:
            return
        self.tally.add("parcels shipped")
        if pickup is not None:
            self.at(self.rng.uniform(*self.b.transit_hours) * 3600, lambda: self._arrives(pickup, sid, sscc_epc, order_id))
        elif order is not None and order.home is not None:
            self.at(self.rng.uniform(*self.b.delivered_days) * 86400, lambda: self._delivered(order, shipment))

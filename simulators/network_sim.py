"""A whole store network at work, speaking the real wire: the service's HTTP API for people and channels, reader
payloads (MQTT or HTTP) for the RFID readers. Nothing here reads the service's database.

Actors, on a simulated clock running `speed` times faster than the wall clock:
- **customers and channels**: a Poisson stream of orders — home delivery and click and collect from the web shop
  (a share of them curbside), endless-aisle orders taken in a store and shipped home;
- **pickers** at every location working its task queue at human speeds: start, scan each unit, now and then a
  short pick, pack at the pack station, ship or make ready; chores (put backs, cycle counts) and curbside handovers;
- **readers** at every location: a carton of tagged items read at the receiving dock now and then, the pack
  station reading what is on its table (the parcel's items and its own SSCC tag), the exit portal of the stores
  seeing sold items leave (and, once in a while, one that was not paid for);
- **customers** collecting their click-and-collect orders on time, late or never, and some returning an item
  in another store.

Every step is an event on a heap of simulated instants, run in order on one thread when the wall clock reaches
it (never earlier): the simulated time of a step is its due time, so the same answers from the service give the
same run. When the service is slower than the speed asks, steps run late: `lag` says by how much.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import math
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from rfid.epc import encode_sgtin96
from simulators.network_readers import ANTENNAS, DOCK, EXIT_INNER, EXIT_OUTER, PACK_PORTS, TICKS_PER_SECOND, ReaderHub

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Worker:
    """A picker at a location, with the pack station that is theirs."""

    location: str
    number: int

    @property
    def key(self) -> str:
        return f"{self.location}#{self.number}"

    @property
    def port(self) -> int:
        return PACK_PORTS[self.number - 1]

    @property
    def station(self) -> str:
        return ANTENNAS[self.port]
SIGHTING_TICKS = 8  # a carton or a parcel is read at the dock for 2 s; a person takes 1 s per side of the portal
PORTAL_TICKS = 4
PEOPLE_TAG = "FOR-YOU-"  # in the external id of the order placed for people (`SIM-<start>-FOR-YOU-<n>`)
SHELVING_WALL_S = 3.0  # after the dock's last read of a carton, before its items can be picked or sold
TABLE_CLEAR_WALL_S = 2.5  # the pack station's tags depart after 1.5 s of silence (the demo's readers file)
VERIFY_WAIT_S = 20.0  # wall-clock seconds a packer waits for the pack station's verdict before closing by hand
SOURCE_SERIAL_BASE = 500_000_000  # serials of source-tagged units (tagged by the brand, never read at a dock)


@dataclass(frozen=True)
class Place:
    """A location of the network as the simulation knows it."""

    id: str
    kind: str  # "store" or "warehouse"
    lat: float
    lon: float
    name: str = ""


@dataclass(frozen=True)
class Behaviour:
    """How the simulated people behave (times are simulated)."""

    orders_per_hour: float = 90.0
    mix: tuple[tuple[str, float], ...] = (("home", 0.5), ("collect", 0.25), ("curbside", 0.1), ("endless_aisle", 0.15))
    store_seconds_per_unit: tuple[float, float] = (20.0, 45.0)
    warehouse_seconds_per_unit: tuple[float, float] = (8.0, 20.0)
    packing_seconds: tuple[float, float] = (40.0, 90.0)
    idle_poll_seconds: float = 60.0
    short_pick_rate: float = 0.03  # per line: the units are not on the shelf
    collect_on_time: float = 0.75  # the rest: late (a share of it) or never
    collect_late: float = 0.15
    collect_minutes: tuple[float, float] = (5.0, 40.0)
    late_hours: tuple[float, float] = (26.0, 60.0)
    curbside_handover_minutes: tuple[float, float] = (1.0, 4.0)
    return_rate: float = 0.25  # of collected orders (the first, then every 4th): an item returned in another store
    return_minutes: tuple[float, float] = (5.0, 25.0)
    delivered_days: tuple[float, float] = (1.0, 2.0)  # home deliveries reach the customer
    home_return_rate: float = 0.1
    transit_hours: tuple[float, float] = (2.0, 6.0)  # ship-to-store parcels between locations
    carton_every_hours: float = 2.0
    carton_tags: dict[str, int] = field(default_factory=lambda: {"store": 12, "warehouse": 40})
    walk_in_sales_per_store_hour: float = 2.0
    shoplifts_per_store_hour: float = 0.1
    workers: dict[str, int] = field(default_factory=lambda: {"store": 2, "warehouse": 3})  # pickers, each with a pack station
    # picks there wait `people_grace_minutes` for a person before a simulated picker takes them, and pack-station-1 is
    # left to people (the simulated pickers there use the next stations)
    people_store: str | None = None  # picks there wait `people_grace_minutes` for a person before a simulated picker takes them
    people_grace_minutes: float = 10.0


@dataclass
class Credentials:
    """Bearer tokens: ops (the customer's inbox, returns counter lookups), channel (the web shop), one picker per
    location (the handheld), and how to sign a picker in again when a session ended."""

    ops: str
    channel: str
    pickers: dict[str, str]
    sign_in: Callable[[str], str] | None = None


@dataclass
class _Order:
    id: int
    external_id: str
    kind: str
    pickup: str | None
    home: tuple[float, float] | None
    origin: str | None = None


@dataclass
class Tally:
    """What the simulated people did, and what the service answered."""

    counts: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)  # 4xx answers by `path-kind status code`
    server_errors: int = 0
    transport_errors: int = 0
    max_lag_s: float = 0.0

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] += n


class Simulation:
    """The network's day (see the module docstring). `run()` until `duration_s` simulated seconds passed (None:
    until `stop` is set); `on_clock(now)` is called every simulated quarter hour with the simulated instant
    (the demo runs the pickup expiry sweep on it)."""

    def __init__(
        self, base_url: str, places: list[Place], gtins: list[str], credentials: Credentials, hub: ReaderHub | None, *,
        behaviour: Behaviour | None = None, speed: float = 1.0, seed: int = 0, company_prefix_length: int = 7,
        on_clock: Callable[[datetime], None] | None = None, progress: Callable[[str], None] | None = None,
        progress_every_s: float = 600.0, run_tag: str | None = None, shelves: dict[str, dict[str, list[str]]] | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.places = {p.id: p for p in places}
        self.stores = [p for p in places if p.kind == "store"]
        self.gtins = gtins
        self.creds = credentials
        self.hub = hub
        self.b = behaviour or Behaviour()
        self.speed = speed
        self.rng = random.Random(seed)
        self.prefix_length = company_prefix_length
        self.on_clock = on_clock
        self.progress = progress
        self.progress_every_s = progress_every_s
        self.tally = Tally()
        self.http = httpx.Client(base_url=base_url, timeout=30.0)
        self.started = datetime.now(UTC)
        self.run_tag = run_tag or f"SIM-{self.started:%Y%m%d%H%M%S}"  # the orders' external ids start with it
        self.t = 0.0
        self._t0 = 0.0
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._orders: dict[int, _Order] = {}
        self._busy: set[str] = set()  # workers at a task
        self._collected = 0
        self._people_orders: set[int] = set()  # placed for people to prepare: never taken by a simulated picker
        self._taken: set[Any] = set()  # shipments and chores a worker is at (a colleague looks for another)
        self._skip: dict[str, dict[int, float]] = defaultdict(dict)  # location -> shipment -> until (sim s): not ours now
        self._shelf: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))  # registered tags on the shelves
        for location, by_gtin in (shelves or {}).items():
            for gtin, epcs in by_gtin.items():
                self._shelf[location][gtin].extend(epcs)
        self._serials = itertools.count(SOURCE_SERIAL_BASE + seed * 10_000_000)
        self._weights = [1.0 / (1 + rank % 8) for rank in range(len(gtins))]  # as the demo's stock: some sell far more

    # -- the clock -------------------------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The simulated instant."""
        return self.started + timedelta(seconds=self.t)

    def wall(self, seconds: float) -> float:
        """Simulated seconds that take `seconds` on the wall clock (the readers and the ingest run on it)."""
        return seconds * self.speed

    def at(self, delay_s: float, step: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (self.t + max(0.0, delay_s), next(self._seq), step))

    def _every(self, per_hour: float, step: Callable[[], None]) -> None:
        """`step` after an exponential wait of mean 1/`per_hour` hours (a Poisson stream); never when the rate is 0."""
        if per_hour > 0:
            self.at(self.rng.expovariate(per_hour / 3600), step)

    def run(self, duration_s: float | None, stop: threading.Event | None = None) -> Tally:
        stop = stop or threading.Event()
        self.started = datetime.now(UTC)
        self._t0 = time.monotonic()
        self._begin()
        try:
            while self._heap and not stop.is_set():
                due, _n, step = heapq.heappop(self._heap)
                if duration_s is not None and due > duration_s:
                    self.t = duration_s
                    break
                wait = self._t0 + due / self.speed - time.monotonic()
                if wait > 0 and stop.wait(wait):
                    break
                self.tally.max_lag_s = max(self.tally.max_lag_s, -wait)
                self.t = due
                try:
                    step()
                except Exception:  # one actor's surprise never ends the day
                    self.tally.add("actor errors")
                    log.exception("simulated step failed")
        finally:
            self.http.close()
        return self.tally

    def _begin(self) -> None:
        self.at(self.rng.uniform(5, 30), self._next_order)
        if self.b.people_store is not None:
            self.at(5, self._for_people)
        for place in self.places.values():
            first = 2 if place.id == self.b.people_store else 1  # pack-station-1 of the people's store is theirs
            for number in range(first, first + self.b.workers.get(place.kind, 1)):
                self.at(self.rng.uniform(1, 20), functools.partial(self._poll, Worker(place.id, number)))
            if self.hub is not None and place.id in self.hub:
                self.at(self.rng.uniform(30, 180), functools.partial(self._carton, place.id))
        for store in self.stores:
            self._every(self.b.walk_in_sales_per_store_hour, functools.partial(self._walk_in, store.id))
            self._every(self.b.shoplifts_per_store_hour, functools.partial(self._shoplift, store.id))
        self.at(900, self._quarter)
        self.at(self.progress_every_s, self._report)

    def _quarter(self) -> None:
        if self.on_clock is not None:
            self.on_clock(self.now())
        self.at(900, self._quarter)

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(self.line())
        self.at(self.progress_every_s, self._report)

    def line(self) -> str:
        """One line of progress."""
        c = self.tally.counts
        hours, rest = divmod(int(self.t), 3600)
        return (f"sim {hours:02d}:{rest // 60:02d} | orders {c['orders placed']} | picked {c['shipments picked']} | verified {c['parcels verified by rfid']}"
                f" | shipped {c['parcels shipped']} | ready {c['pickups ready']} | collected {c['pickups collected']} | returned {c['returns taken']}"
                f" | units read in at docks {c['units in cartons']} | lag {self.tally.max_lag_s:.1f} s")

    # -- HTTP ------------------------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, token: str | None, body: Any = None, *, what: str, headers: dict[str, str] | None = None,
              location: str | None = None) -> dict[str, Any] | list[Any] | None:
        """One request; the answer's JSON when it succeeded, else None (counted: 4xx by kind, 5xx as server errors)."""
        for attempt in (1, 2):
            try:
                answer = self.http.request(method, path, json=body, headers={**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})})
            except httpx.HTTPError as exc:
                self.tally.transport_errors += 1
                log.warning("%s %s: %s", method, path, exc)
                return None
            if answer.status_code == 401 and location is not None and attempt == 1 and self.creds.sign_in is not None:
                token = self.creds.pickers[location] = self.creds.sign_in(location)  # the handheld's session ended: sign in again
                continue
            break
        if answer.status_code >= 500:
            self.tally.server_errors += 1
            log.error("%s %s: %s %s", method, path, answer.status_code, answer.text[:300])
            return None
        if answer.status_code >= 400:
            code = ""
            try:
                code = answer.json().get("error", {}).get("code", "")
            except ValueError:
                pass
            self.tally.refused[f"{what} {answer.status_code} {code}".strip()] += 1
            return None
        if answer.status_code == 204:
            return {}
        result: dict[str, Any] | list[Any] = answer.json()
        return result

    def _picker(self, location: str) -> str:
        return self.creds.pickers[location]

    # -- orders ----------------------------------------------------------------------------------------------------

    def _next_order(self) -> None:
        self._every(self.b.orders_per_hour, self._next_order)
        kind = self.rng.choices([k for k, _ in self.b.mix], [w for _, w in self.b.mix])[0]
        lines: dict[str, int] = {}
        for _ in range(self.rng.choices((1, 2, 3), (0.6, 0.3, 0.1))[0]):
            gtin = self.rng.choices(self.gtins, self._weights)[0]
            lines[gtin] = min(lines.get(gtin, 0) + 1, 2)
        self._place(kind, self.rng.choice(self.stores), lines)

    def _for_people(self) -> None:
        """The store kept for people gets a click-and-collect order of two products on its own shelves at once, so a
        newcomer signed in there has a task within the first minute; no simulated picker ever takes that one."""
        store = self.places[self.b.people_store] if self.b.people_store in self.places else None
        stocked = sorted(g for g, tags in self._shelf[store.id].items() if tags) if store is not None else []
        if store is not None and stocked:
            placed = self._place("collect", store, {g: 1 for g in self.rng.sample(stocked, min(2, len(stocked)))}, tag=PEOPLE_TAG)
            if placed is not None:
                self._people_orders.add(placed)

    def _place(self, kind: str, store: Place, lines: dict[str, int], tag: str = "") -> int | None:
        """Place an order; its id, or None when the service refused it."""
        n = next(self._seq)
        external_id = f"{self.run_tag}-{tag}{n}"
        body: dict[str, Any] = {"external_id": external_id, "lines": [{"gtin": g, "qty": q, "unit_price": "39.90"} for g, q in lines.items()],
                                "currency": "EUR"}
        token = self.creds.channel
        home: tuple[float, float] | None = None
        if kind in ("collect", "curbside"):
            body |= {"channel": "web", "pickup_location_id": store.id}
        else:
            home = (round(store.lat + self.rng.gauss(0, 0.08), 5), round(store.lon + self.rng.gauss(0, 0.08), 5))
            body |= {"channel": "web", "ship_to": {"name": f"Customer {n}", "country": "FR", "lat": home[0], "lon": home[1]}}
            if kind == "endless_aisle":  # asked for in a store, shipped home
                body |= {"channel": "store", "origin_location_id": store.id}
                token = self._picker(store.id)
        answer = self._call("POST", "/api/v1/orders", token, body, what="order", location=store.id if kind == "endless_aisle" else None)
        if not isinstance(answer, dict):
            return None
        order = _Order(answer["id"], external_id, kind, store.id if kind in ("collect", "curbside") else None, home, store.id if kind == "endless_aisle" else None)
        self._orders[order.id] = order
        self.tally.add("orders placed")
        self.tally.add(f"orders placed: {kind}")
        live = [s for s in answer.get("shipments", []) if s["status"] == "assigned"]
        if live:
            self.tally.add("orders routed")
            if len({s["location_id"] for s in live}) > 1:
                self.tally.add("orders split")
        ordered = sum(line["qty"] for line in answer.get("lines", []))
        routed = sum(line["qty"] for s in live for line in s["lines"])
        if routed < ordered:
            self.tally.add("units unfilled at intake", ordered - routed)
        return order.id

    # -- pickers ---------------------------------------------------------------------------------------------------

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

    # -- parcels between locations, customers ----------------------------------------------------------------------

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

    def _comes(self, order: _Order, shipment_id: int, store: str, late: bool) -> None:
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

    def _hand_over(self, order: _Order, shipment_id: int, store: str, code: str, late: bool) -> None:
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
            other = min(elsewhere, key=lambda s: _km(s, self.places[store]) + self.rng.uniform(0, 150))
            self.at(self.rng.uniform(*self.b.return_minutes) * 60, lambda: self._return(order, other.id, answer))

    def _delivered(self, order: _Order, shipment: dict[str, Any]) -> None:
        self.tally.add("home deliveries delivered")
        if order.home is not None and self.rng.random() < self.b.home_return_rate:
            here = Place("home", "home", *order.home)
            nearest = min(self.stores, key=lambda s: _km(s, here))
            self.at(self.rng.uniform(1, 5) * 86400, lambda: self._return(order, nearest.id, {"delivered": shipment["lines"]}))

    def _return(self, order: _Order, store: str, handed: dict[str, Any]) -> None:
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

    # -- the readers' world ----------------------------------------------------------------------------------------

    def _carton(self, location: str) -> None:
        """A carton of tagged items reaches the dock, is read there, and goes on the shelves."""
        self.at(self.b.carton_every_hours * 3600 * self.rng.uniform(0.8, 1.2), lambda: self._carton(location))
        size = self.b.carton_tags.get(self.places[location].kind, 12)
        tags: list[tuple[str, str]] = []
        for _ in range(size):
            gtin = self.rng.choices(self.gtins, self._weights)[0]
            tags.append((gtin, encode_sgtin96(gtin, next(self._serials), self.prefix_length)))
        assert self.hub is not None
        self.hub.sight(location, "dock", [(DOCK, [epc for _g, epc in tags], SIGHTING_TICKS)])

        def shelved() -> None:
            for gtin, epc in tags:
                self._shelf[location][gtin].append(epc)
        # On the shelves once the dock no longer reads them (a wall-clock wait: the readers run on it).
        self.at(self.wall(SIGHTING_TICKS / TICKS_PER_SECOND + SHELVING_WALL_S), shelved)
        self.tally.add("cartons read at docks")
        self.tally.add("units in cartons", size)

    def _any_shelf_tag(self, store: str) -> str | None:
        stocked = [g for g, tags in self._shelf[store].items() if tags]
        if not stocked:
            return None
        shelf = self._shelf[store][self.rng.choice(stocked)]
        return shelf.pop(self.rng.randrange(len(shelf)))

    def _through_the_exit(self, store: str, epc: str) -> None:
        if self.hub is not None:
            self.hub.sight(store, "exit", [(EXIT_INNER, [epc], PORTAL_TICKS), (EXIT_OUTER, [epc], PORTAL_TICKS)])

    def _walk_in(self, store: str) -> None:
        """A shopper buys a tagged item at the till and walks out with it (the portal sees a sold item: no loss)."""
        self._every(self.b.walk_in_sales_per_store_hour, lambda: self._walk_in(store))
        epc = self._any_shelf_tag(store)
        if epc is None:
            return
        sold = self._call("POST", "/api/v1/sales", self._picker(store), {"location_id": store, "epcs": [epc], "receipt": f"T-{next(self._seq)}"},
                          what="sale", location=store)
        if isinstance(sold, list) and sold and sold[0]["outcome"] == "sold":
            self.tally.add("walk-in sales")
            self._through_the_exit(store, epc)

    def _shoplift(self, store: str) -> None:
        """Once in a while an item leaves through the exit unpaid: the portal's reads make it a loss."""
        self._every(self.b.shoplifts_per_store_hour, lambda: self._shoplift(store))
        epc = self._any_shelf_tag(store)
        if epc is not None:
            self.tally.add("items walked out unpaid")
            self._through_the_exit(store, epc)


def _km(a: Place, b: Place) -> float:
    """Great-circle distance."""
    la1, lo1, la2, lo2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 12742.0 * math.asin(math.sqrt(min(1.0, h)))

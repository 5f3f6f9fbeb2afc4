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

The pickers' steps are in simulators.network_pickers, the customers' in simulators.network_customers (mixed into
Simulation), what they are made of in simulators.network_model.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from rfid.epc import encode_sgtin96
from simulators.network_customers import Customers
from simulators.network_model import (
    Behaviour,
    Credentials,
    PEOPLE_TAG,
    PORTAL_TICKS,
    Place,
    PlacedOrder,
    SHELVING_WALL_S,
    SIGHTING_TICKS,
    SOURCE_SERIAL_BASE,
    Tally,
    Worker,
)
from simulators.network_pickers import Pickers
from simulators.network_readers import DOCK, EXIT_INNER, EXIT_OUTER, TICKS_PER_SECOND, ReaderHub

log = logging.getLogger(__name__)

__all__ = ["Behaviour", "Credentials", "Place", "Simulation"]


class Simulation(Pickers, Customers):
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
        self._orders: dict[int, PlacedOrder] = {}
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
        order = PlacedOrder(answer["id"], external_id, kind, store.id if kind in ("collect", "curbside") else None, home, store.id if kind == "endless_aisle" else None)
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

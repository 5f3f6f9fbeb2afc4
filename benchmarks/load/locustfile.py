"""The mixed workload of `benchmarks/bench_load.py`, for Locust (run by that module; settings in FULFIL_LOAD_CONFIG).

Channel users (web shop and app backends) ask availability, quote promises and place orders; pickers at every
location take their queue's next pick, start it, read the pick list, scan each unit and mark it picked. Each user
talks to one API process (client-side balancing over the processes' ports, as a load balancer would spread
connections), over its own keep-alive connection, with no think time: a closed loop that saturates the service.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from itertools import count

from locust import FastHttpUser, between, task

CONFIG = json.loads(open(os.environ["FULFIL_LOAD_CONFIG"]).read())
_users = count()
_pickers = count()


def _base() -> str:
    ports = CONFIG["ports"]
    return f"http://127.0.0.1:{ports[next(_users) % len(ports)]}"


class Balanced(FastHttpUser):
    """A user bound to one API process at creation (its connection stays there)."""

    abstract = True

    def __init__(self, environment) -> None:  # type: ignore[no-untyped-def]
        self.host = _base()
        super().__init__(environment)


class Channel(Balanced):
    """A web shop's backend: availability on product pages, a promise at checkout, now and then an order."""

    weight = CONFIG["weights"]["channel"]
    wait_time = between(0, 0)

    def on_start(self) -> None:
        self.rng = random.Random()
        self.headers = {"Authorization": f"Bearer {CONFIG['channel_token']}"}

    def _point(self) -> dict[str, float]:
        return {"lat": round(self.rng.uniform(43.5, 50.5), 5), "lon": round(self.rng.uniform(-1.0, 7.0), 5)}

    @task(5)
    def availability(self) -> None:
        self.client.get(f"/api/v1/availability?gtin={self.rng.choice(CONFIG['gtins'])}", headers=self.headers, name="availability")

    @task(3)
    def promise(self) -> None:
        lines = [{"gtin": g, "qty": self.rng.randint(1, 2)} for g in self.rng.sample(CONFIG["gtins"], 3)]
        self.client.post("/api/v1/promise", json={"lines": lines, "ship_to": self._point()}, headers=self.headers, name="promise")

    @task(1)
    def checkout_hold(self) -> None:
        """A checkout: a promise whose delivery option is held for a few seconds; every other one becomes an order that
        takes the hold, the rest are abandoned and left to the hold sweep (which must expire each exactly once)."""
        lines = [{"gtin": g, "qty": 1} for g in self.rng.sample(CONFIG["gtins"], 2)]
        point = self._point()
        with self.client.post("/api/v1/promise", json={"lines": lines, "ship_to": point, "hold_seconds": 3}, headers=self.headers,
                              name="promise + hold", catch_response=True) as answer:
            if answer.status_code == 409:  # nothing could be held for this basket: a normal answer
                answer.success()
                return
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code}")
                return
            hold = answer.json()["hold"]
        if hold is None or self.rng.random() < 0.5:
            return
        body = {"external_id": f"LOAD-{uuid.uuid4().hex[:16]}", "channel": "web", "currency": "EUR", "hold_id": hold["id"],
                "lines": [{**line, "unit_price": "39.90"} for line in lines], "ship_to": {"name": "Load Test", "country": "FR", **point}}
        self.client.post("/api/v1/orders", json=body, headers=self.headers, name="order (held)")

    @task(1)
    def order(self) -> None:
        lines = [{"gtin": g, "qty": 1, "unit_price": "39.90"} for g in self.rng.sample(CONFIG["gtins"], self.rng.randint(1, 3))]
        body = {"external_id": f"LOAD-{uuid.uuid4().hex[:16]}", "channel": "web", "currency": "EUR", "lines": lines,
                "ship_to": {"name": "Load Test", "country": "FR", **self._point()}}
        self.client.post("/api/v1/orders", json=body, headers=self.headers, name="order")


class Picker(Balanced):
    """A store or warehouse picker working the queue of a location chosen at random each round."""

    weight = CONFIG["weights"]["picker"]
    wait_time = between(0, 0)

    def on_start(self) -> None:
        self.rng = random.Random()
        # A token set of its own: two users sharing a token would be one picker, racing themselves on one claim.
        self.tokens = list(CONFIG["picker_tokens"][next(_pickers) % len(CONFIG["picker_tokens"])].items())

    @task
    def pick_one(self) -> None:
        location, token = self.rng.choice(self.tokens)
        headers = {"Authorization": f"Bearer {token}"}
        with self.client.get(f"/api/v1/stores/{location}/tasks?kind=pick", headers=headers, name="tasks", catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code}")
                return
            tasks = answer.json()
        if not tasks:
            return
        shipment = tasks[0].get("shipment_id")
        if shipment is None:
            return
        with self.client.post(f"/api/v1/shipments/{shipment}/start", headers=headers, name="start", catch_response=True) as answer:
            if answer.status_code == 409:  # another picker took it first: a normal race, not a failure
                answer.success()
                return
            if answer.status_code != 200:  # refused, or no answer (a process killed mid-request): this picker did not start it
                answer.failure(f"{answer.status_code}")
                return
        with self.client.get(f"/api/v1/pick-lists?shipment_id={shipment}", headers=headers, name="pick list", catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code}")
                return
            lines = answer.json()["lines"]
        for line in lines:
            for _ in range(line["qty"] - line["picked_qty"]):
                self.client.post(f"/api/v1/shipments/{shipment}/scans", json={"scan_id": uuid.uuid4().hex, "code": line["gtin"]},
                                 headers=headers, name="scan")
        self.client.post(f"/api/v1/shipments/{shipment}/picked", headers=headers, name="picked")

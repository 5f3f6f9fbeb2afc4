"""The channel API through HTTP: a promise quote for a 3-line basket among 300 locations, and the availability of one
GTIN across 1,000 stores, each next to `GET /healthz` through the same stack (same server, same client, same run).

The API runs as a separate process (uvicorn, one worker, as `fulfil serve` runs it); the client sends requests one
after another over one keep-alive connection for latency, and from 4 threads for throughput. Database: a fresh
SQLite file, or FULFIL_BENCH_DATABASE_URL (e.g. PostgreSQL, where the targets are set). Each figure is measured
REPEATS times and reported as a range.
"""

from __future__ import annotations

import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import text

from benchmarks.report import Result, emit
from fulfil.auth.service import create_token
from fulfil.db import make_engine, make_session_factory, unit_of_work
from fulfil.migrate import upgrade_engine
from fulfil.models import Location, LocationKind, Product, Role, StockCause
from fulfil.stock import service as stock
from rfid.epc.gs1 import gtin_check_digit

REPEATS = 3
LATENCY_REQUESTS = 1_500
WARMUP_REQUESTS = 200
THROUGHPUT_SECONDS = 5.0
THROUGHPUT_THREADS = 4
PRODUCTS = 60
HOURS = {d: [["09:00", "19:30"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}


def _gtin(i: int) -> str:
    body = "0" + "0614141" + f"{70_000 + i:05d}"
    return body + str(gtin_check_digit(body))


def _database(url: str) -> tuple[str, str | None]:
    """A URL to an empty database of its own (a schema on PostgreSQL) and the schema to drop afterwards."""
    if "postgres" not in url:
        return f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}", None
    schema = f"fulfil_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}", schema


def _network(url: str, warehouses: int, stores: int, seed: int) -> str:
    """Locations over metropolitan France with stock of PRODUCTS products; returns a channel token."""
    engine = make_engine(url)
    upgrade_engine(engine)
    factory = make_session_factory(engine)
    rng = random.Random(seed)
    cause = stock.Cause(StockCause.SYSTEM, actor="bench", reason="receipt")
    with unit_of_work(factory) as s:
        for i in range(PRODUCTS):
            s.add(Product(gtin=_gtin(i), name=f"bench {i}", company_prefix_length=7))
        ids = []
        for i in range(warehouses + stores):
            kind = LocationKind.WAREHOUSE if i < warehouses else LocationKind.STORE
            loc = f"{'DC' if kind is LocationKind.WAREHOUSE else 'ST'}-{i:04d}"
            s.add(Location(
                id=loc, name=loc, kind=kind, lat=rng.uniform(43.3, 50.6), lon=rng.uniform(-1.5, 7.5), capacity_per_day=None if kind is LocationKind.WAREHOUSE else 200,
                pick_cost_per_unit=0.3 if kind is LocationKind.WAREHOUSE else 1.2, handling_days=1 if kind is LocationKind.WAREHOUSE else 0,
                opening_hours=None if kind is LocationKind.WAREHOUSE else HOURS, timezone="Europe/Paris",
            ))
            ids.append((loc, kind))
    with unit_of_work(factory) as s:
        for loc, kind in ids:
            for i in range(PRODUCTS):
                if kind is LocationKind.WAREHOUSE or rng.random() < 0.35 or i == 0:
                    stock.adjust(s, loc, _gtin(i), cause, delta=rng.randint(1, 40) * (20 if kind is LocationKind.WAREHOUSE else 1))
        secret = create_token(s, role=Role.CHANNEL, name="bench").secret
    engine.dispose()
    return secret


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`uvicorn fulfil.app:create_app --factory` in a child process, settings from the environment."""

    def __init__(self, url: str) -> None:
        self.port = _free_port()
        env = {**os.environ, "FULFIL_DATABASE_URL": url, "FULFIL_ROUTING_BATCH_INTERVAL_SECONDS": "0", "FULFIL_PICKUP_SWEEP_INTERVAL_SECONDS": "0",
               "FULFIL_HOLD_SWEEP_INTERVAL_SECONDS": "0", "FULFIL_WEBHOOK_DISPATCH_INTERVAL_SECONDS": "0", "FULFIL_LOG_LEVEL": "warning"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "fulfil.app:create_app", "--factory", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "warning", "--no-access-log"], env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the API did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _latency(client: httpx.Client, send: callable) -> tuple[float, float]:  # type: ignore[valid-type]
    for _ in range(WARMUP_REQUESTS):
        send(client)
    samples = []
    for _ in range(LATENCY_REQUESTS):
        start = time.perf_counter()
        send(client)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def _throughput(base: str, headers: dict[str, str], send: callable) -> float:  # type: ignore[valid-type]
    stop = time.monotonic() + THROUGHPUT_SECONDS
    counts = [0] * THROUGHPUT_THREADS

    def work(i: int) -> None:
        with httpx.Client(base_url=base, headers=headers) as client:
            while time.monotonic() < stop:
                send(client)
                counts[i] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(THROUGHPUT_THREADS) as pool:
        list(pool.map(work, range(THROUGHPUT_THREADS)))
    return sum(counts) / (time.monotonic() - started)


def _ok(response: httpx.Response) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:300]}")


def main() -> None:
    base_url = os.environ.get("FULFIL_BENCH_DATABASE_URL") or "sqlite://"
    db = "PostgreSQL" if "postgres" in base_url else "SQLite"
    rng = random.Random(7)
    baskets = [[{"gtin": _gtin(g), "qty": rng.randint(1, 2)} for g in rng.sample(range(PRODUCTS), 3)] for _ in range(64)]
    points = [{"lat": rng.uniform(43.5, 50.5), "lon": rng.uniform(-1.0, 7.0)} for _ in range(64)]
    schemas = []
    for title, warehouses, stores, request in (
        ("promise quote, 3-line basket, 300 locations", 20, 280, "promise"),
        ("availability of one GTIN across 1,000 stores", 10, 1_000, "availability"),
    ):
        url, schema = _database(base_url)
        schemas.append(schema)
        token = _network(url, warehouses, stores, seed=11)
        headers = {"Authorization": f"Bearer {token}"}
        counter = iter(range(10**9))

        def quote(client: httpx.Client) -> None:
            i = next(counter)
            _ok(client.post("/api/v1/promise", json={"lines": baskets[i % 64], "ship_to": points[i % 64]}))

        def availability(client: httpx.Client) -> None:
            _ok(client.get("/api/v1/availability", params={"gtin": _gtin(0)}))

        def health(client: httpx.Client) -> None:
            _ok(client.get("/healthz"))

        send = quote if request == "promise" else availability
        server = Server(url)
        try:
            base = f"http://127.0.0.1:{server.port}"
            runs = []
            for _ in range(REPEATS):
                with httpx.Client(base_url=base, headers=headers) as client:
                    p50, p99 = _latency(client, send)
                    h50, h99 = _latency(client, health)
                rate = _throughput(base, headers, send) if request == "promise" else None
                runs.append((p50, p99, h50, h99, rate))
        finally:
            server.stop()
        lo = lambda k: min(r[k] for r in runs)  # noqa: E731
        hi = lambda k: max(r[k] for r in runs)  # noqa: E731
        print(f"{title}, {db}: p50 {lo(0):.2f}-{hi(0):.2f} ms, p99 {lo(1):.2f}-{hi(1):.2f} ms; /healthz p50 {lo(2):.2f}-{hi(2):.2f} ms, "
              f"p99 {lo(3):.2f}-{hi(3):.2f} ms" + (f"; {lo(4):.0f}-{hi(4):.0f} quotes/s ({THROUGHPUT_THREADS} client threads)" if request == "promise" else ""))
        target = 15.0 if request == "promise" else 20.0
        emit(Result(f"{title} through HTTP, p99 (worst of {REPEATS} runs), {db}", hi(1), "ms", "GET /healthz p99, same stack", hi(3),
                    f"p99 <= {target:g} ms", hi(1) <= target))
        if request == "promise":
            emit(Result(f"{title}, quotes/s, one API worker (worst of {REPEATS} runs), {db}", lo(4), "quotes/s", "(none)", 1.0, ">= 300 quotes/s", lo(4) >= 300))
    if "postgres" in base_url:
        admin = make_engine(base_url)
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()

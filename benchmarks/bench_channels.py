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
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import text

from benchmarks.network import PRODUCTS, Server, gtin, own_database, seed_network
from benchmarks.report import Result, emit
from fulfil.db import make_engine

REPEATS = 3
LATENCY_REQUESTS = 1_500
WARMUP_REQUESTS = 200
THROUGHPUT_SECONDS = 5.0
THROUGHPUT_THREADS = 4


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
    baskets = [[{"gtin": gtin(g), "qty": rng.randint(1, 2)} for g in rng.sample(range(PRODUCTS), 3)] for _ in range(64)]
    points = [{"lat": rng.uniform(43.5, 50.5), "lon": rng.uniform(-1.0, 7.0)} for _ in range(64)]
    schemas = []
    for title, warehouses, stores, request in (
        ("promise quote, 3-line basket, 300 locations", 20, 280, "promise"),
        ("availability of one GTIN across 1,000 stores", 10, 1_000, "availability"),
    ):
        url, schema = own_database(base_url)
        schemas.append(schema)
        token = seed_network(url, warehouses, stores, seed=11)
        headers = {"Authorization": f"Bearer {token}"}
        counter = iter(range(10**9))

        def quote(client: httpx.Client) -> None:
            i = next(counter)
            _ok(client.post("/api/v1/promise", json={"lines": baskets[i % 64], "ship_to": points[i % 64]}))

        def availability(client: httpx.Client) -> None:
            _ok(client.get("/api/v1/availability", params={"gtin": gtin(0)}))

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

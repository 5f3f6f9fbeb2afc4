"""Webhook dispatch to a local receiver (its own process, verifying every signature): events/s a dispatcher delivers
(each answered 2xx and recorded as delivered), next to raw signed POSTs of the same bodies to the same receiver from
one thread (same run); and the publish -> delivered latency with a healthy receiver at a steady rate of committed
events, with the dispatcher in the publishing process (as in `serve`: woken when an event commits) and alone
(`fulfil webhooks dispatch` polling every 0.25 s), next to one raw POST's round trip. Repeated REPEATS times; the
summary gives each figure's range.

Database: a fresh SQLite file, or FULFIL_BENCH_DATABASE_URL (PostgreSQL, in a schema of its own). On PostgreSQL the
webhook tables are vacuumed before each measurement, as autovacuum would have done by then (the development server
runs with autovacuum off; without it every delivery's dead row versions pile up and claims slow down run after run)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

from benchmarks.report import Result, emit
from fulfil.config import Settings
from fulfil.db import make_engine, make_session_factory, unit_of_work
from fulfil.migrate import upgrade_engine
from fulfil.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from fulfil.webhooks import outbox, signing
from fulfil.webhooks.dispatcher import DispatchLoop, Dispatcher

REPEATS = int(os.environ.get("FULFIL_BENCH_REPEATS", "3"))
EVENTS = 2_000  # a backlog, delivered as fast as the dispatcher can
KEYS = 200  # ordering keys (orders): each key's events go one at a time
RATE = 50  # events/s committed during the latency runs, each in its own transaction (as a request commits)
SECONDS = 10
WARMUP = 20  # events not timed (first connections, statement caches)
ROOT = Path(__file__).resolve().parent.parent


def _data(i: int) -> dict[str, Any]:
    """An order.routed-sized body (about 400 bytes)."""
    return {"order": {"id": i, "external_id": f"BENCH-{i}", "status": "routed", "channel": "web", "customer_ref": f"C-{i}"},
            "previous_status": "received",
            "shipments": [{"id": i, "location_id": "ST-LYON-01", "status": "assigned",
                           "lines": [{"gtin": "00614141100002", "qty": 2}, {"gtin": "00614141100019", "qty": 1}]}]}


def _setup(url: str) -> tuple[str, Any, list[str]]:
    schemas = []
    if "postgres" in url:
        schema = f"fulfil_bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
        schemas.append(schema)
    engine = make_engine(url)
    upgrade_engine(engine)
    return url, engine, schemas


def _receiver(secret: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen([sys.executable, "-m", "benchmarks.webhook_receiver", secret], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def _stats(port: int) -> dict[str, Any]:
    stats: dict[str, Any] = httpx.get(f"http://127.0.0.1:{port}/stats", timeout=30).json()
    return stats


def _reset(port: int) -> None:
    httpx.post(f"http://127.0.0.1:{port}/reset", timeout=30)


def _publish(factory: Any, first: int, n: int, tag: str) -> list[str]:
    """`n` committed events (500 per transaction) over KEYS ordering keys; their ids."""
    ids: list[str] = []
    for start in range(first, first + n, 500):
        with unit_of_work(factory) as s:
            rows = [outbox.publish(s, "order.routed", _data(i), ordering_key=f"bench:{tag}:{i % KEYS}") for i in range(start, min(start + 500, first + n))]
            s.flush()
            ids += [r.public_id for r in rows]
    return ids


def _vacuum(engine: Any) -> None:
    """What autovacuum does on a production server (0009 sets it eager on these tables); nothing on SQLite."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("webhook_events", "webhook_deliveries", "webhook_attempts"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))


def _raw(port: int, secret: str, n: int) -> tuple[float, list[float]]:
    """Signed POSTs of the same bodies from one thread on one kept-alive connection: events/s, round trips (ms)."""
    bodies = [json.dumps({"type": "order.routed", "timestamp": "2026-12-06T00:00:00Z", "data": _data(i)}).encode() for i in range(n)]
    trips = []
    with httpx.Client() as client:
        started = time.perf_counter()
        for body in bodies:
            t0 = time.perf_counter()
            headers = signing.headers([secret], f"evt_raw{uuid.uuid4().hex[:28]}", int(time.time()), body)
            assert client.post(f"http://127.0.0.1:{port}/raw", content=body, headers=headers).status_code == 200
            trips.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - started
    return n / elapsed, trips


def _delivered(factory: Any, endpoint: int) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint, WebhookDelivery.status == DeliveryStatus.DELIVERED)) or 0)


def _throughput(factory: Any, settings: Settings, endpoint: int, port: int, first: int) -> float:
    """Events/s from a backlog of EVENTS to delivered (2xx, recorded), one dispatcher."""
    before = _delivered(factory, endpoint)
    ids = _publish(factory, first, EVENTS, uuid.uuid4().hex[:6])
    dispatcher = Dispatcher(factory, settings)
    started = time.perf_counter()
    dispatcher.drain(timeout=600)
    elapsed = time.perf_counter() - started
    dispatcher.close(30)
    assert _delivered(factory, endpoint) - before == EVENTS
    stats = _stats(port)
    assert set(ids) <= set(stats["arrivals"]) and stats["bad"] == 0, "the receiver missed events or refused a signature"
    return EVENTS / elapsed


def _paced(factory: Any, first: int, tag: str) -> dict[str, float]:
    """RATE committed events/s for SECONDS (each its own transaction): webhook-id -> time.time() after its commit."""
    sent: dict[str, float] = {}
    interval = 1 / RATE
    next_at = time.perf_counter()
    for i in range(first, first + WARMUP + RATE * SECONDS):
        with unit_of_work(factory) as s:
            row = outbox.publish(s, "order.routed", _data(i), ordering_key=f"bench:{tag}:{i % KEYS}")
            s.flush()
            public_id = row.public_id
        if i - first >= WARMUP:
            sent[public_id] = time.time()
        next_at += interval
        time.sleep(max(0.0, next_at - time.perf_counter()))  # pacing the load generator
    return sent


def _latencies(port: int, sent: dict[str, float]) -> tuple[float, float]:
    deadline = time.time() + 60
    while True:
        arrivals = _stats(port)["arrivals"]
        if all(i in arrivals for i in sent) or time.time() > deadline:
            break
        time.sleep(0.2)
    missing = [i for i in sent if i not in arrivals]
    assert not missing, f"{len(missing)} events never arrived"
    lat = sorted((arrivals[i] - t) * 1000 for i, t in sent.items())
    return statistics.median(lat), lat[int(0.99 * (len(lat) - 1))]


def _latency_in_process(factory: Any, settings: Settings, port: int, first: int) -> tuple[float, float]:
    loop = DispatchLoop(Dispatcher(factory, settings), settings.webhook_dispatch_interval_seconds, stop_timeout=30)
    loop.start()
    try:
        sent = _paced(factory, first, uuid.uuid4().hex[:6])
        return _latencies(port, sent)
    finally:
        loop.stop()


def _latency_alone(factory: Any, url: str, port: int, first: int) -> tuple[float, float]:
    env = {**os.environ, "FULFIL_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "fulfil.cli", "webhooks", "dispatch"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        process.stderr.readline()  # "dispatching webhooks as ...": it is up
        sent = _paced(factory, first, uuid.uuid4().hex[:6])
        return _latencies(port, sent)
    finally:
        process.terminate()
        process.wait(60)


def _range(values: list[float], fmt: str = ",.4g") -> str:
    return f"{min(values):{fmt}}–{max(values):{fmt}}"


def main() -> None:
    url, engine, schemas = _setup(os.environ.get("FULFIL_BENCH_DATABASE_URL") or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}")
    db = "PostgreSQL" if "postgres" in url else "SQLite"
    factory = make_session_factory(engine)
    secret = signing.new_secret()
    receiver, port = _receiver(secret)
    settings = Settings(database_url=url)  # the defaults: 8 workers, 4 requests at once per endpoint, 0.25 s interval
    wide = Settings(database_url=url, webhook_endpoint_concurrency=8)
    with unit_of_work(factory) as s:
        row = WebhookEndpoint(url=f"http://127.0.0.1:{port}/hooks", event_types=["order.routed"], secret=secret, description="bench")
        s.add(row)
        s.flush()
        endpoint = row.id
    runs: dict[str, list[float]] = {k: [] for k in ("raw", "rtt50", "rtt99", "thr", "wide", "p50", "p99", "ap50", "ap99")}
    try:
        first = 0
        for run in range(1, REPEATS + 1):
            _reset(port)
            raw, trips = _raw(port, secret, EVENTS)
            trips.sort()
            runs["raw"].append(raw)
            runs["rtt50"].append(statistics.median(trips))
            runs["rtt99"].append(trips[int(0.99 * (len(trips) - 1))])
            _vacuum(engine)
            runs["thr"].append(_throughput(factory, settings, endpoint, port, first))
            first += EVENTS
            _vacuum(engine)
            runs["wide"].append(_throughput(factory, wide, endpoint, port, first))
            first += EVENTS
            _vacuum(engine)
            p50, p99 = _latency_in_process(factory, settings, port, first)
            first += WARMUP + RATE * SECONDS
            runs["p50"].append(p50)
            runs["p99"].append(p99)
            _vacuum(engine)
            ap50, ap99 = _latency_alone(factory, url, port, first)
            first += WARMUP + RATE * SECONDS
            runs["ap50"].append(ap50)
            runs["ap99"].append(ap99)
            print(f"-- run {run} of {REPEATS}", flush=True)
            emit(Result(f"webhook dispatch, backlog of {EVENTS:,} events over {KEYS} orders, defaults (8 workers, 4 per endpoint), {db}",
                        runs["thr"][-1], "events/s", "raw signed POSTs, one thread", raw, "(reference)", True))
            emit(Result(f"same, 8 requests at once to the endpoint, {db}", runs["wide"][-1], "events/s", "raw signed POSTs, one thread", raw,
                        "(reference)", True))
            emit(Result(f"publish -> delivered at {RATE} events/s, dispatcher in the publishing process (serve), p99, {db}", p99, "ms",
                        "one raw POST round trip, p99", runs["rtt99"][-1], "p99 <= 1000 ms", p99 <= 1000))
            emit(Result(f"publish -> delivered at {RATE} events/s, `fulfil webhooks dispatch` alone (polls 0.25 s), p99, {db}", ap99, "ms",
                        "one raw POST round trip, p99", runs["rtt99"][-1], "p99 <= 1000 ms", ap99 <= 1000))
        ratios = [t / r for t, r in zip(runs["thr"], runs["raw"], strict=True)]
        wide_ratios = [t / r for t, r in zip(runs["wide"], runs["raw"], strict=True)]
        print(f"== summary over {REPEATS} runs, {db}")
        print(f"dispatch throughput (defaults): {_range(runs['thr'])} events/s | raw one-thread POSTs {_range(runs['raw'])} events/s | "
              f"ratio {_range(ratios, '.3g')}")
        print(f"dispatch throughput (8 per endpoint): {_range(runs['wide'])} events/s | ratio {_range(wide_ratios, '.3g')}")
        print(f"publish -> delivered in serve's process: p99 {_range(runs['p99'])} ms, p50 {_range(runs['p50'])} ms | "
              f"raw round trip p99 {_range(runs['rtt99'])} ms, p50 {_range(runs['rtt50'])} ms | target p99 <= 1000 ms: "
              f"{'MET' if max(runs['p99']) <= 1000 else 'NOT MET'}")
        print(f"publish -> delivered, dispatcher alone: p99 {_range(runs['ap99'])} ms, p50 {_range(runs['ap50'])} ms | target p99 <= 1000 ms: "
              f"{'MET' if max(runs['ap99']) <= 1000 else 'NOT MET'}")
    finally:
        receiver.terminate()
        receiver.wait(30)
        engine.dispose()
        for schema in schemas:
            admin = make_engine(os.environ["FULFIL_BENCH_DATABASE_URL"])
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()

"""A mixed load on PostgreSQL + Mosquitto with 1, 2 and 4 API processes and one ingest process (issue 16): Locust as
the load generator (benchmarks/load/locustfile.py), loopback only, bounded in time.

Per configuration, on a fresh database (a schema of its own): 10 warehouses and 50 stores over France with stock of 60
products (benchmarks/network.py); a picker token per store; 20 stores' receiving readers on MQTT
through a private Mosquitto into `fulfil ingest` (tags received first, then re-read at LOAD_READS_PER_S during the
run); N `fulfil serve`-equivalent API processes (uvicorn, one worker each, background jobs off) on N ports, each Locust
user bound to one of them (client-side balancing). Locust runs USERS users with no think time (a closed loop that
saturates the service): channel users asking availability, promise quotes (some holding units for a 3 s checkout,
half of those becoming orders, the rest left to expire) and placing orders; pickers taking their queue's next pick,
starting it, reading the pick list, scanning each unit and marking it picked.

Then the cluster configuration (benchmarks/load_cluster.py): `fulfil serve --workers 2` with every background job on,
two `fulfil ingest --partition K/2` processes, webhooks to a receiver, new tags received during the run, and the
batch-routing leader and an ingest partition SIGKILLed mid-run; exactly-once is checked after it.

Reported per configuration: requests/s in all and per operation with p50/p99 and failures, and the ratio of the
throughput to the one-process run's; after each run the stock invariant is checked on the database (reserved = units
held by open shipments and holds, the event log sums to stock), and no stock level is oversold (reserved > on hand).

FULFIL_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test); FULFIL_LOAD_SECONDS (default 30);
FULFIL_LOAD_USERS (default 24); FULFIL_LOAD_PROCESSES (default "1,2,4"; empty: none); FULFIL_LOAD_CLUSTER_WORKERS
(default 2; 0: no cluster run). Needs `pip install -e '.[bench]'` (Locust).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from sqlalchemy import func, select, text

from benchmarks.load_cluster import Chaos, Cluster, Once, chaos, drain_and_check, register_receiver
from benchmarks.network import PRODUCTS, Server, gtin, own_database, seed_network
from benchmarks.report import Result, emit, load
from fulfil.auth.service import create_token
from fulfil.db import make_engine, make_session_factory, unit_of_work
from fulfil.models import Location, LocationKind, Role, StockLevel
from fulfil.stock import invariant
from rfid.epc import encode_sgtin96
from simulators.broker import MosquittoBroker

LOCUSTFILE = Path(__file__).resolve().parent / "load" / "locustfile.py"
WARMUP_SECONDS = 5
READER_STORES = 20
TAGS_PER_STORE = 100
READS_PER_PAYLOAD = 10
LOAD_READS_PER_S = 1_000
WEIGHTS = {"channel": 5, "picker": 1}
NEW_TAGS_EVERY = 10  # in the cluster run, every 10th reader payload is of tags never read before (receipts)


@dataclass
class OpStats:
    name: str
    requests: int
    failures: int
    rps: float
    p50: float
    p99: float


def _payload(epcs: list[str]) -> bytes:
    """An Impinj tag-inventory array (the same dress as benchmarks/bench_ingest.py)."""
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps([{"timestamp": now, "hostname": "load", "eventType": "tagInventory",
                        "tagInventoryEvent": {"epcHex": e, "antennaPort": 1, "peakRssiCdbm": -4500}} for e in epcs]).encode()


class Readers:
    """The stores' receiving readers: each tag read once (received), then re-read at `rate` reads/s until stopped; with
    `new_every` > 0, every new_every-th payload is of READS_PER_PAYLOAD tags never seen before (receipts during the
    run, kept in `new_tags` to check each was received exactly once)."""

    def __init__(self, broker_url: str, stores: list[str], rate: int, new_every: int = 0) -> None:
        self.topics = {s: f"load/{s}/receiving" for s in stores}
        self.tags = {s: [encode_sgtin96(gtin(i % PRODUCTS), 9_000_000 + k * 1_000 + i, 7) for i in range(TAGS_PER_STORE)] for k, s in enumerate(stores)}
        self.rate = rate
        self.new_every = new_every
        self._new: list[tuple[mqtt.MQTTMessageInfo, list[str]]] = []
        host, port = broker_url.removeprefix("mqtt://").rsplit(":", 1)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"load-readers-{uuid.uuid4().hex[:6]}")
        self.client.max_inflight_messages_set(1_000)
        self.client.connect(host, int(port))
        self.client.loop_start()
        self.published = 0
        self._stop = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._stream, daemon=True)

    def receive_all(self) -> None:
        for store, tags in self.tags.items():
            for i in range(0, len(tags), READS_PER_PAYLOAD):
                self.client.publish(self.topics[store], _payload(tags[i:i + READS_PER_PAYLOAD]), qos=1).wait_for_publish(10)
                self.published += READS_PER_PAYLOAD

    def new_tags(self) -> list[str]:
        """The tags first read during the run whose payload the broker acknowledged (after stop(): all of them)."""
        return [epc for info, epcs in self._new if info.is_published() for epc in epcs]

    def start(self) -> None:
        self._thread.start()

    def _stream(self) -> None:
        stores = list(self.tags)
        interval = READS_PER_PAYLOAD / self.rate
        t_next, k = time.perf_counter(), 0
        while not self._stop.is_set():
            store = stores[k % len(stores)]
            if self.new_every and k % self.new_every == 0:
                epcs = [encode_sgtin96(gtin(i % PRODUCTS), 20_000_000 + len(self._new) * READS_PER_PAYLOAD + i, 7) for i in range(READS_PER_PAYLOAD)]
                self._new.append((self.client.publish(self.topics[store], _payload(epcs), qos=1), epcs))
            else:
                tags = self.tags[store]
                start = (k * READS_PER_PAYLOAD) % len(tags)
                self.client.publish(self.topics[store], _payload(tags[start:start + READS_PER_PAYLOAD]), qos=1)
            self.published += READS_PER_PAYLOAD
            k += 1
            t_next += interval
            time.sleep(max(0.0, t_next - time.perf_counter()))  # pacing the readers

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        for info, _epcs in self._new:
            if not info.is_published():
                info.wait_for_publish(10)
        self.client.loop_stop()
        self.client.disconnect()


def _readers_config(path: Path, readers: Readers, client_id: str | None = None) -> None:
    lines = [f'client_id = "{client_id}"'] if client_id else []
    lines += ["[zones.receiving]", "arrival_reads = 1", "arrival_ms = 0"]
    for store, topic in readers.topics.items():
        lines += ["[[readers]]", f'id = "load-{store}"', f'location = "{store}"', 'transport = "mqtt"', f'topic = "{topic}"', 'format = "impinj"',
                  "[readers.antennas]", '1 = "receiving"']
    path.write_text("\n".join(lines) + "\n")


def _tokens(url: str, sets: int) -> tuple[list[dict[str, str]], list[str]]:
    """`sets` sets of a picker token per store (one set per picker user: each is another person; pickers work in one
    store, and warehouse picks are left to the warehouse's own system here), and the stores with readers."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as s:
        stores = list(s.scalars(select(Location.id).where(Location.kind == LocationKind.STORE).order_by(Location.id)))
        tokens = [{store: create_token(s, role=Role.PICKER, name=f"load {k} {store}", location_id=store).secret for store in stores} for k in range(sets)]
    engine.dispose()
    return tokens, stores[:READER_STORES]


def _locust(config: Path, users: int, seconds: int, out: Path) -> str:
    env = {**os.environ, "FULFIL_LOAD_CONFIG": str(config)}
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
               "--csv", str(out), "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5"]
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=seconds + 120)
    if done.returncode not in (0, 1):  # 1: some requests failed (reported per operation below)
        raise SystemExit(f"locust exited {done.returncode}:\n{done.stdout[-3000:]}")
    return done.stdout


def _stats(prefix: Path) -> list[OpStats]:
    with open(f"{prefix}_stats.csv") as handle:
        rows = list(csv.DictReader(handle))
    def ms(value: str) -> float:
        return float(value) if value not in ("", "N/A") else 0.0

    return [OpStats(r["Name"], int(r["Request Count"]), int(r["Failure Count"]), float(r["Requests/s"]), ms(r["50%"]), ms(r["99%"])) for r in rows]


def _print_failures(prefix: Path) -> None:
    """Locust's failures by operation and reason (its CSV: method, name, error, occurrences)."""
    for row in Path(f"{prefix}_failures.csv").read_text().strip().splitlines()[1:11]:
        print(f"   failure: {row}")


def _check_books(url: str) -> tuple[int, int, int]:
    """(drifts of the stock invariant, stock levels oversold, orders placed)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        drifts = invariant.check(conn)
        oversold = conn.execute(select(func.count()).select_from(StockLevel).where(StockLevel.reserved > StockLevel.on_hand)).scalar_one()
        orders = conn.execute(text("SELECT count(*) FROM orders")).scalar_one()
    engine.dispose()
    return len(drifts), int(oversold), int(orders)


def run_one(base_url: str, processes: int, users: int, seconds: int, broker: MosquittoBroker, work: Path) -> tuple[list[OpStats], tuple[int, int, int], str | None]:
    with _fresh(base_url) as url:
        return _run_one(url, processes, users, seconds, broker, work)


def _run_one(url: str, processes: int, users: int, seconds: int, broker: MosquittoBroker, work: Path) -> tuple[list[OpStats], tuple[int, int, int], str | None]:
    channel = seed_network(url, 10, 50, seed=11)
    pickers, stores = _tokens(url, max(1, users * WEIGHTS["picker"] // sum(WEIGHTS.values()) + 1))
    readers = Readers(broker.url, stores, LOAD_READS_PER_S)
    readers_file = work / f"readers-{processes}.toml"
    _readers_config(readers_file, readers)
    ingest = subprocess.Popen([sys.executable, "-m", "fulfil.cli", "ingest", "--config", str(readers_file), "--mqtt-url", broker.url],
                              env={**os.environ, "FULFIL_DATABASE_URL": url, "FULFIL_LOG_LEVEL": "warning"})
    servers: list[Server] = []
    try:
        servers = [Server(url) for _ in range(processes)]
        readers.receive_all()
        config = work / f"load-{processes}.json"
        config.write_text(json.dumps({"ports": [s.port for s in servers], "channel_token": channel, "picker_tokens": pickers,
                                      "gtins": [gtin(i) for i in range(PRODUCTS)], "weights": WEIGHTS}))
        readers.start()
        _locust(config, users, WARMUP_SECONDS, work / f"warmup-{processes}")  # first-use costs are not throughput
        context = load()
        prefix = work / f"run-{processes}"
        said = _locust(config, users, seconds, prefix)
        stats = _stats(prefix)
        if not any(s.name == "Aggregated" and s.requests for s in stats):
            raise SystemExit(f"no request was made:\n{said[-3000:]}")
        _print_failures(prefix)
    finally:
        readers.stop()
        for server in servers:
            server.stop()
        ingest.terminate()
        ingest.wait(30)
    return stats, _check_books(url), context


def run_cluster(base_url: str, workers: int, users: int, seconds: int, broker: MosquittoBroker, work: Path) -> tuple[list[OpStats], tuple[int, int, int], str | None, Chaos, Once]:
    """`fulfil serve --workers N` with every job on, 2 ingest partitions, webhooks to a receiver, and processes killed
    mid-run (benchmarks/load_cluster.py); the books and the exactly-once checks after it."""
    with _fresh(base_url) as url:
        return _run_cluster(url, workers, users, seconds, broker, work)


def _run_cluster(url: str, workers: int, users: int, seconds: int, broker: MosquittoBroker, work: Path) -> tuple[list[OpStats], tuple[int, int, int], str | None, Chaos, Once]:
    channel = seed_network(url, 10, 50, seed=11)
    pickers, stores = _tokens(url, max(1, users * WEIGHTS["picker"] // sum(WEIGHTS.values()) + 1))
    receiver, receiver_port, _ops = register_receiver(url)
    readers = Readers(broker.url, stores, LOAD_READS_PER_S, new_every=NEW_TAGS_EVERY)
    readers_file = work / "readers-cluster.toml"
    _readers_config(readers_file, readers, client_id=f"load-cluster-{uuid.uuid4().hex[:6]}")
    engine = make_engine(url)
    cluster: Cluster | None = None
    try:
        cluster = Cluster(url, workers, readers_file, broker.url, work)
        readers.receive_all()
        config = work / "load-cluster.json"
        config.write_text(json.dumps({"ports": [cluster.port], "channel_token": channel, "picker_tokens": pickers,
                                      "gtins": [gtin(i) for i in range(PRODUCTS)], "weights": WEIGHTS}))
        readers.start()
        _locust(config, users, WARMUP_SECONDS, work / "warmup-cluster")
        context = load()
        stop = threading.Event()
        killed: list[Chaos] = []
        killer = threading.Thread(target=lambda: killed.append(chaos(cluster, engine, seconds, stop)), name="chaos")  # type: ignore[arg-type]
        killer.start()
        prefix = work / "run-cluster"
        said = _locust(config, users, seconds, prefix)
        stop.set()
        killer.join()
        stats = _stats(prefix)
        if not any(s.name == "Aggregated" and s.requests for s in stats):
            raise SystemExit(f"no request was made:\n{said[-3000:]}")
        _print_failures(prefix)
        readers.stop()
        once = drain_and_check(engine, readers.new_tags(), receiver_port)
    finally:
        readers.stop()
        if cluster is not None:
            cluster.stop()
        receiver.terminate()
        receiver.wait(30)
        engine.dispose()
    return stats, _check_books(url), context, killed[0] if killed else Chaos(), once


@contextmanager
def _fresh(base_url: str) -> Iterator[str]:
    """A database of its own for one configuration (a schema), dropped afterwards whatever happened."""
    url, schema = own_database(base_url)
    try:
        yield url
    finally:
        if schema is not None:
            admin = make_engine(base_url)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def main() -> None:
    base_url = os.environ.get("FULFIL_BENCH_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
    if "postgres" not in base_url:
        raise SystemExit("bench_load runs on PostgreSQL (FULFIL_BENCH_DATABASE_URL)")
    seconds = int(os.environ.get("FULFIL_LOAD_SECONDS", "30"))
    users = int(os.environ.get("FULFIL_LOAD_USERS", "24"))
    counts = [int(n) for n in os.environ.get("FULFIL_LOAD_PROCESSES", "1,2,4").split(",") if n.strip()]
    cluster_workers = int(os.environ.get("FULFIL_LOAD_CLUSTER_WORKERS", "2"))
    work = Path(tempfile.mkdtemp(prefix="fulfil-load-"))
    first: float | None = None
    with MosquittoBroker() as broker:
        for n in counts:
            stats, (drifts, oversold, orders), context = run_one(base_url, n, users, seconds, broker, work)
            total = next(s for s in stats if s.name == "Aggregated")
            print(f"-- {n} API process(es), 1 ingest process, {users} users, {seconds} s, {context}; {orders} orders in the database; "
                  f"stock invariant: {'holds' if drifts == 0 else f'{drifts} drifts'}; oversold levels: {oversold}")
            for s in stats:
                print(f"   {s.name:<13} {s.requests:>7} requests {s.rps:>8.1f}/s  p50 {s.p50:>6.0f} ms  p99 {s.p99:>6.0f} ms  failures {s.failures}")
            first = first if first is not None else total.rps
            emit(Result(f"mixed load, {n} API process(es) on PostgreSQL, {users} users: requests/s (p50 {total.p50:.0f} ms, p99 {total.p99:.0f} ms, "
                        f"{total.failures} failures; invariant {'holds' if drifts == 0 else 'BROKEN'}, {oversold} oversold)",
                        total.rps, "req/s", f"{counts[0]} process(es)", first, ">= 1.6 x from 1 to 2 processes" if n == 2 else "(reference)",
                        drifts == 0 and oversold == 0 and (n != 2 or total.rps >= 1.6 * first)))
            if drifts or oversold:
                raise SystemExit(f"the books are wrong after the run with {n} processes: {drifts} drifts, {oversold} oversold")
        if cluster_workers:
            _report_cluster(base_url, cluster_workers, users, seconds, broker, work, first)


def _report_cluster(base_url: str, workers: int, users: int, seconds: int, broker: MosquittoBroker, work: Path, first: float | None) -> None:
    stats, (drifts, oversold, orders), context, killed, once = run_cluster(base_url, workers, users, seconds, broker, work)
    total = next(s for s in stats if s.name == "Aggregated")
    print(f"-- fulfil serve --workers {workers} (every background job on), 2 ingest partitions, webhooks to a receiver, processes killed "
          f"mid-run; {users} users, {seconds} s, {context}; {orders} orders in the database; stock invariant: "
          f"{'holds' if drifts == 0 else f'{drifts} drifts'}; oversold levels: {oversold}")
    for line in killed.events:
        print(f"   chaos {line}")
    print(f"   exactly once: {once.line()}")
    for s in stats:
        print(f"   {s.name:<13} {s.requests:>7} requests {s.rps:>8.1f}/s  p50 {s.p50:>6.0f} ms  p99 {s.p99:>6.0f} ms  failures {s.failures}")
    ok = drifts == 0 and oversold == 0 and not once.problems
    emit(Result(f"mixed load on fulfil serve --workers {workers} with jobs on, 2 ingest partitions, a worker and a partition killed mid-run: requests/s "
                f"(p50 {total.p50:.0f} ms, p99 {total.p99:.0f} ms, {total.failures} failures; invariant {'holds' if drifts == 0 else 'BROKEN'}, "
                f"{oversold} oversold; exactly-once {'holds' if not once.problems else 'BROKEN: ' + ', '.join(once.problems)})",
                total.rps, "req/s", "1 API process", first or total.rps, "books and exactly-once hold with processes killed", ok))
    if not ok:
        raise SystemExit(f"the cluster run broke the books or exactly-once: {drifts} drifts, {oversold} oversold, {once.problems}")


if __name__ == "__main__":
    main()

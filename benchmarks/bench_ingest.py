"""Ingest through a private Mosquitto into committed stock effects, next to a bare paho subscriber on the
same broker and payloads (same run); and publish-to-committed latency at 1,000 reads/s.

Database: a fresh SQLite file, or FULFIL_BENCH_DATABASE_URL (e.g. PostgreSQL). Two streams:
- steady: 2,000 tags in stock each read 125 times (a store's readers re-reading what they see, by a worker that
  just started, so each tag's first read is still concluded as an arrival and located), 50 reads/payload;
- new-tags: every read a tag never seen (the worst case: every read is a receipt).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from sqlalchemy import text

from benchmarks.bench_mqtt_raw import RawSubscriber, drain_raw, publish_all
from benchmarks.report import Hog, Result, emit, load, span
from fulfil.db import make_engine, make_session_factory, unit_of_work
from fulfil.ingest.config import parse_config
from fulfil.ingest.mqtt_worker import MqttIngestWorker
from fulfil.ingest.pipeline import IngestPipeline
from fulfil.migrate import upgrade_engine
from fulfil.models import Location, LocationKind, Product
from hardware.mqtt import MqttConfig
from rfid.epc import encode_sgtin96
from rfid.epc.gs1 import gtin_check_digit
from simulators.broker import MosquittoBroker

READS_PER_PAYLOAD = 50
# 250,000 reads: long enough (about half a second for the bare subscriber) that connecting and the
# worker's one-off start (placing 2,000 tags it has not seen yet) do not stand in for the steady rate.
STEADY_PAYLOADS = 5_000
_SCHEMAS: list[tuple[str, str]] = []
LATENCY_RATE = 1_000  # reads/s
LATENCY_SECONDS = 5
WARMUP_SECONDS = 1  # load before measuring: first-use costs (statement caches, connections) are not latency


def _gtin() -> str:
    body = "0061414199999"
    return body + str(gtin_check_digit(body))


def _payload(epcs: list[str], antenna: int = 1) -> bytes:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps([{"timestamp": now, "hostname": "bench", "eventType": "tagInventory",
                        "tagInventoryEvent": {"epcHex": e, "antennaPort": antenna, "peakRssiCdbm": -4500}} for e in epcs]).encode()


def _publisher(broker: MosquittoBroker) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def _raw_rate(broker: MosquittoBroker, payloads: list[bytes]) -> float:
    """Reads/s a bare paho subscriber (auto-ack, json.loads to count reads) drains from a backlog of the payloads,
    queued on its persistent session while it was away (the publisher is not running while it is timed)."""
    topic = f"bench/raw/{uuid.uuid4().hex[:6]}"
    config = MqttConfig.from_url(broker.url, client_id=f"bench-raw-{uuid.uuid4().hex[:6]}")
    raw = RawSubscriber(config, topic, count_of=lambda payload: len(json.loads(payload)))
    raw.start(0)
    raw.subscribed.wait(10)
    raw.stop()
    publish_all(config, payloads, topic)
    total = len(payloads) * READS_PER_PAYLOAD
    return total / drain_raw(raw, total)


def _setup(url: str) -> tuple[object, str, str]:
    if "postgres" in url:  # a schema of its own, so the benchmark never touches the database's other data
        schema = f"fulfil_bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
        _SCHEMAS.append((schema, url))
    engine = make_engine(url)
    upgrade_engine(engine)
    factory = make_session_factory(engine)
    store = f"ST-BENCH-{uuid.uuid4().hex[:6]}"
    with unit_of_work(factory) as s:
        s.add(Location(id=store, name="bench", kind=LocationKind.STORE, lat=45, lon=4))
        if s.get(Product, _gtin()) is None:
            s.add(Product(gtin=_gtin(), name="bench item", company_prefix_length=7))
    return factory, store, engine  # type: ignore[return-value]


def _worker(broker: MosquittoBroker, factory: object, store: str, topic: str, client_id: str | None = None,
            start: bool = True, parse_process: bool = True) -> tuple[IngestPipeline, MqttIngestWorker]:
    config = parse_config(f"""
parse_process = {str(parse_process).lower()}
client_id = "{client_id or 'bench-' + uuid.uuid4().hex[:6]}"
[zones.receiving]
arrival_reads = 1
arrival_ms = 0
[[readers]]
id = "bench-{store}"
location = "{store}"
transport = "mqtt"
topic = "{topic}"
format = "impinj"
[readers.antennas]
1 = "receiving"
""")
    pipeline = IngestPipeline(config, factory)  # type: ignore[arg-type]
    worker = MqttIngestWorker(pipeline, broker.url, config)
    if parse_process:
        worker.parser.start()  # part of the service being up (as MqttIngestWorker.start does), not of what is timed
    if start:
        worker.subscriber.start()
        worker.subscriber.wait_ready(10)
    return pipeline, worker


def _through_ingest(broker: MosquittoBroker, factory: object, store: str, payloads: list[bytes], parse_process: bool = True) -> float:
    """Reads/s from the same kind of backlog as `_raw_rate`, into committed effects and acks: the session is created,
    the worker goes away, the payloads are queued, and a fresh worker (empty smoothing state) drains them, timed from
    its connect to its last commit and ack."""
    topic = f"bench/ingest/{uuid.uuid4().hex[:6]}"
    client_id = f"bench-{uuid.uuid4().hex[:6]}"
    _, first = _worker(broker, factory, store, topic, client_id, parse_process=False)  # only creates the session
    first.subscriber.stop()
    first.parser.stop()
    publish_all(MqttConfig.from_url(broker.url, client_id=f"bench-pub-{uuid.uuid4().hex[:6]}"), payloads, topic)
    pipeline, worker = _worker(broker, factory, store, topic, client_id, start=False, parse_process=parse_process)
    total = len(payloads) * READS_PER_PAYLOAD
    started = time.perf_counter()
    worker.subscriber.start()
    while pipeline.counters.reads < total:
        worker.step()  # each step commits and then acks what it took
    elapsed = time.perf_counter() - started
    worker.subscriber.stop()
    worker.parser.stop()
    return total / elapsed


def _latency(broker: MosquittoBroker, factory: object, store: str, gtin: str, known: list[str], serial: int) -> tuple[float, float]:
    """LATENCY_RATE reads/s of a store's readers (re-reads of known tags) with one new tag in every ten reads (serials
    from `serial` on: each run's tags are new); time from publishing a new tag to the commit that holds its receipt
    (what the API then shows)."""
    topic = f"bench/latency/{uuid.uuid4().hex[:6]}"
    pipeline, worker = _worker(broker, factory, store, topic)
    sent: dict[str, float] = {}
    committed: dict[str, float] = {}
    stop = threading.Event()

    def on_effects(effects: list) -> None:  # type: ignore[type-arg]
        now = time.perf_counter()
        for e in effects:
            if e.outcome.value == "received":
                committed.setdefault(e.epc, now)

    pipeline.on_effects = on_effects

    def consume() -> None:
        while not stop.is_set():
            worker.step()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    pub = _publisher(broker)
    batch = 10  # reads per payload at this rate: 100 payloads/s
    interval = batch / LATENCY_RATE
    t_next = time.perf_counter()
    warmup = int(LATENCY_RATE * WARMUP_SECONDS / batch)
    for k in range(warmup + int(LATENCY_RATE * LATENCY_SECONDS / batch)):
        new = encode_sgtin96(gtin, serial, 7)
        serial += 1
        epcs = [known[(k * batch + i) % len(known)] for i in range(batch - 1)] + [new]
        if k >= warmup:
            sent[new] = time.perf_counter()
        pub.publish(topic, _payload(epcs), qos=1)
        t_next += interval
        time.sleep(max(0.0, t_next - time.perf_counter()))  # pacing the load generator
    deadline = time.perf_counter() + 30
    while any(e not in committed for e in sent) and time.perf_counter() < deadline:  # every timed tag, the warm-up's aside
        time.sleep(0.05)
    stop.set(); thread.join(5); pub.loop_stop(); pub.disconnect(); worker.subscriber.stop(); worker.parser.stop()
    missing = [e for e in sent if e not in committed]
    if missing:  # a tag never committed is not left out of the figures: the run fails
        raise SystemExit(f"ingest latency: {len(missing)} of {len(sent)} tags not committed within 30 s of the last publish")
    lat = sorted((committed[e] - sent[e]) * 1000 for e in sent)
    return statistics.median(lat), lat[int(0.99 * (len(lat) - 1))]


def main() -> None:
    url = os.environ.get("FULFIL_BENCH_DATABASE_URL") or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    factory, store, engine = _setup(url)
    gtin = _gtin()
    steady_tags = [encode_sgtin96(gtin, 1_000_000 + i, 7) for i in range(2_000)]
    steady = [steady_tags[(i * READS_PER_PAYLOAD + j) % len(steady_tags)] for i in range(STEADY_PAYLOADS) for j in range(READS_PER_PAYLOAD)]
    steady_payloads = [_payload(steady[i:i + READS_PER_PAYLOAD]) for i in range(0, len(steady), READS_PER_PAYLOAD)]
    fresh = [encode_sgtin96(gtin, 2_000_000 + i, 7) for i in range(10_000)]
    fresh_payloads = [_payload(fresh[i:i + READS_PER_PAYLOAD]) for i in range(0, len(fresh), READS_PER_PAYLOAD)]
    db = "PostgreSQL" if "postgres" in url else "SQLite"
    parts = os.environ.get("FULFIL_BENCH_INGEST_PARTS", "throughput,latency").split(",")
    with MosquittoBroker() as broker:
        if "throughput" in parts:
            _throughput(broker, factory, store, steady_tags, steady_payloads, fresh_payloads, db)
        else:  # the latency stream re-reads tags in stock: receive them first
            _through_ingest(broker, factory, store, steady_payloads[: len(steady_tags) // READS_PER_PAYLOAD])
        if "latency" in parts:
            _latencies(broker, factory, store, gtin, steady_tags, db)
    engine.dispose()  # type: ignore[attr-defined]
    for schema, _url in _SCHEMAS:
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _latencies(broker: MosquittoBroker, factory: object, store: str, gtin: str, known: list[str], db: str) -> None:
    """FULFIL_BENCH_REPEATS (default 3) latency runs, then one with a CPU hog on the other core."""
    repeats = int(os.environ.get("FULFIL_BENCH_REPEATS", "3"))
    quiet = [_latency(broker, factory, store, gtin, known, 5_000_000 + 100_000 * k) for k in range(repeats)]
    context = load()
    with Hog():
        hog = _latency(broker, factory, store, gtin, known, 6_000_000)
    for label, runs in ((f"{repeats} runs, {context}", quiet), ("with a CPU hog on the other core", [hog])):
        p99 = max(r[1] for r in runs)
        emit(Result(f"publish -> committed stock change at {LATENCY_RATE} reads/s (1 in 10 a new tag), p99, {db}, {label} "
                    f"(p99 {span([r[1] for r in runs], '{:.1f}')} ms, p50 {span([r[0] for r in runs], '{:.1f}')} ms)",
                    p99, "ms", "p50", max(r[0] for r in runs), "p99 <= 100 ms", p99 <= 100))


def _throughput(broker: MosquittoBroker, factory: object, store: str, steady_tags: list[str], steady_payloads: list[bytes],
                fresh_payloads: list[bytes], db: str) -> None:
    """The steady stream and the worst case through a fresh worker, next to the bare subscriber on the same payloads."""
    raw = _raw_rate(broker, steady_payloads)
    # Steady state is a store whose tags are in stock: a first worker receives them (not timed; receipts are
    # the worst-case row), then a fresh worker (empty smoothing state, as after a restart) takes the stream.
    _through_ingest(broker, factory, store, steady_payloads[: len(steady_tags) // READS_PER_PAYLOAD])
    ingest = _through_ingest(broker, factory, store, steady_payloads)
    emit(Result(f"ingest steady stream (2,000 tags in stock x 125 reads) into committed effects, {db}", ingest, "reads/s",
                "bare paho subscriber", raw, ">= 0.5 x raw and >= 10,000 reads/s per worker (PostgreSQL)", ingest >= 0.5 * raw and ingest >= 10_000))
    alone = _through_ingest(broker, factory, store, steady_payloads, parse_process=False)
    emit(Result(f"same, parse process off (parse_process = false: one process), {db}", alone, "reads/s", "bare paho subscriber", raw,
                "(reference)", True))
    worst = _through_ingest(broker, factory, store, fresh_payloads)
    emit(Result(f"ingest worst case (every read a new tag = a receipt), {db}", worst, "reads/s", "bare paho subscriber", raw,
                "(reference)", True))


if __name__ == "__main__":
    main()

"""The local inventory feed at scale: a full feed of 300 stores x 1,000 products (about 270,000 rows) streamed as
JSON and as TSV through the API, and an incremental feed after 1,000 stock changes, next to the baseline of reading
the same stock levels with one plain query (the floor any feed has to pay), measured in the same run.

Database: a fresh SQLite file, or FULFIL_BENCH_DATABASE_URL (e.g. PostgreSQL: a schema of its own, dropped after).
FULFIL_BENCH_FEED_STORES / FULFIL_BENCH_FEED_PRODUCTS change the size."""

from __future__ import annotations

import os
import random
import time

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from benchmarks.network import own_database
from benchmarks.report import Result, emit
from fulfil.app import create_app
from fulfil.auth.service import create_token
from fulfil.config import Settings
from fulfil.db import make_engine, make_session_factory, normalise_url, unit_of_work
from fulfil.migrate import upgrade_engine
from fulfil.models import Location, Role, StockCause, StockLevel
from fulfil.stock import service as stock
from simulators.retail_network import generate
from tests.feed_network import load

STORES = int(os.environ.get("FULFIL_BENCH_FEED_STORES", "300"))
PRODUCTS = int(os.environ.get("FULFIL_BENCH_FEED_PRODUCTS", "1000"))
CHANGES = 1_000
TARGET_SECONDS = 10.0  # a full feed of this size, streamed: well inside a daily (or hourly) publishing job


def _database() -> tuple[str, str | None]:
    url = os.environ.get("FULFIL_BENCH_DATABASE_URL")
    return own_database(normalise_url(url) if url else "sqlite://")


def _timed_get(client: TestClient, headers: dict[str, str], **params: str) -> tuple[float, int, str]:
    """Seconds to stream the whole answer, its size in bytes and its cursor."""
    started = time.perf_counter()
    size = 0
    with client.stream("GET", "/api/v1/feeds/local-inventory", headers=headers, params=params) as answer:
        assert answer.status_code == 200, answer.read()
        for chunk in answer.iter_bytes():
            size += len(chunk)
        cursor = answer.headers["fulfil-feed-cursor"]
    return time.perf_counter() - started, size, cursor


def main() -> None:
    url, schema = _database()
    engine = make_engine(url)
    try:
        upgrade_engine(engine)
        network = generate(STORES, PRODUCTS, seed=7, tag="BENCH")
        started = time.perf_counter()
        load(engine, network)
        print(f"loaded {len(network.places)} locations, {len(network.gtins)} products, {len(network.holdings)} levels "
              f"in {time.perf_counter() - started:.1f} s ({engine.dialect.name})")
        factory = make_session_factory(engine)
        with unit_of_work(factory) as s:
            secret = create_token(s, role=Role.OPS, name="bench-feed").secret
        headers = {"Authorization": f"Bearer {secret}"}

        started = time.perf_counter()
        with factory() as s:
            rows = s.execute(
                select(StockLevel.gtin, StockLevel.location_id, StockLevel.on_hand, StockLevel.reserved, StockLevel.safety)
                .join(Location, Location.id == StockLevel.location_id).where(Location.active.is_(True))
                .order_by(StockLevel.gtin, StockLevel.location_id)
            ).all()
        baseline = time.perf_counter() - started

        settings = Settings(database_url=url, routing_batch_interval_seconds=0, pickup_sweep_interval_seconds=0, hold_sweep_interval_seconds=0)
        with TestClient(create_app(settings, engine=engine)) as client:
            json_s, json_bytes, cursor = _timed_get(client, headers)
            tsv_s, tsv_bytes, _ = _timed_get(client, headers, format="tsv")
            store_rows = sum(1 for h in network.holdings if h.location.startswith("BENCH-ST"))
            print(f"full feed: {store_rows} rows; JSON {json_bytes / 1e6:.1f} MB in {json_s:.2f} s, TSV {tsv_bytes / 1e6:.1f} MB in {tsv_s:.2f} s")
            rng = random.Random(1)
            cause = stock.Cause(StockCause.MANUAL, actor="bench", reason="count")
            with unit_of_work(factory) as s:
                for holding in rng.sample(network.holdings, CHANGES):
                    stock.adjust(s, holding.location, holding.gtin, cause, delta=rng.randint(1, 3))
            inc_s, inc_bytes, _ = _timed_get(client, headers, since=cursor)
            print(f"incremental after {CHANGES} changes: {inc_bytes / 1e6:.2f} MB in {inc_s:.2f} s")
        emit(Result(f"full local inventory feed, {STORES} stores x {PRODUCTS} products (JSON, streamed)", json_s, "s",
                    f"plain SELECT of the {len(rows)} levels", baseline, f"< {TARGET_SECONDS:.0f} s", json_s < TARGET_SECONDS))
        emit(Result(f"full local inventory feed, {STORES} stores x {PRODUCTS} products (TSV, streamed)", tsv_s, "s",
                    f"plain SELECT of the {len(rows)} levels", baseline, f"< {TARGET_SECONDS:.0f} s", tsv_s < TARGET_SECONDS))
        # The incremental reads every level of each product touched (its sources decide out-of-stock rows), so its
        # time follows the products touched; what it sends follows the rows that may have changed.
        emit(Result(f"incremental feed after {CHANGES} changes ({inc_s:.2f} s)", inc_bytes / 1e6, "MB", "the full JSON feed", json_bytes / 1e6,
                    "< 10% of the full feed", inc_bytes < json_bytes / 10))
    finally:
        engine.dispose()
        if schema is not None:
            admin = make_engine(os.environ["FULFIL_BENCH_DATABASE_URL"])
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()

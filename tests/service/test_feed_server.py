"""The local inventory feed on a real server, under faults: a client that leaves mid-feed gives its snapshot back at
once (no transaction left open on PostgreSQL, no old snapshot pinning SQLite's WAL), and a server killed mid-feed
leaves a response that cannot be taken for a whole feed; asking again from the last complete feed's cursor, after
a restart and changes made while it was down, is exact.

The network is large enough (about 54,000 rows, 9 MB of JSON) that a feed cannot fit in the sockets' buffers."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, make_url, select, text

from fulfil.auth.service import create_token
from fulfil.db import is_sqlite, make_engine, make_session_factory, unit_of_work
from fulfil.migrate import upgrade
from fulfil.models import Location, Role, StockCause, StockLevel
from fulfil.stock import service as stock
from fulfil.stock.rules import available
from simulators.retail_network import RetailNetwork, generate
from tests.feed_network import load
from tests.service.test_cli import serving
from tests.waiting import wait_for

URL = "/api/v1/feeds/local-inventory"
CAUSE = stock.Cause(StockCause.MANUAL, actor="feed-fault", reason="count")
Rows = dict[tuple[str, str], tuple[Any, ...]]


@pytest.fixture()
def served(fresh_database_url: str) -> Iterator[dict[str, Any]]:
    """A migrated database holding 120 stores x 500 products, an ops token, and the environment to serve it."""
    upgrade(fresh_database_url)
    engine = make_engine(fresh_database_url)
    network = generate(120, 500, seed=3, tag=f"F{uuid.uuid4().hex[:4].upper()}")
    load(engine, network)
    with unit_of_work(make_session_factory(engine)) as s:
        token = create_token(s, role=Role.OPS, name="feed-fault").secret
    env = {**os.environ, "FULFIL_DATABASE_URL": fresh_database_url, "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
           "FULFIL_ROUTING_BATCH_INTERVAL_SECONDS": "0", "FULFIL_PICKUP_SWEEP_INTERVAL_SECONDS": "0", "FULFIL_HOLD_SWEEP_INTERVAL_SECONDS": "0"}
    try:
        yield {"url": fresh_database_url, "engine": engine, "network": network, "env": env, "headers": {"Authorization": f"Bearer {token}"}}
    finally:
        engine.dispose()


def rows_of(body: dict[str, Any]) -> Rows:
    return {(r["store_code"], r["id"]): (r["quantity"], r["availability"], r["pickup_method"], r["pickup_SLA"]) for r in body["rows"]}


def full_feed(base: str, headers: dict[str, str], since: str | None = None) -> tuple[str, Rows]:
    answer = httpx.get(base + URL, headers=headers, params={"since": since} if since else None, timeout=120)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["count"] == len(body["rows"])
    return body["cursor"], rows_of(body)


def levels(engine: Engine, network: RetailNetwork) -> dict[tuple[str, str], int]:
    """Available units per (store, GTIN) of the network, from the stock levels."""
    stores = [p.id for p in network.places if p.kind == "store"]
    with engine.connect() as conn:
        active = set(conn.scalars(select(Location.id).where(Location.id.in_(stores), Location.active.is_(True))))
        rows = conn.execute(select(StockLevel.location_id, StockLevel.gtin, StockLevel.on_hand, StockLevel.reserved, StockLevel.safety))
        return {(loc, gtin): available(on_hand, reserved, safety) for loc, gtin, on_hand, reserved, safety in rows if loc in active}


def change_some(engine: Engine, network: RetailNetwork, n: int, seed: int) -> None:
    """Stock changes committed straight to the database (as another process of the service would)."""
    holdings = sorted(network.holdings, key=lambda h: (h.location, h.gtin))[seed::97][:n]
    with unit_of_work(make_session_factory(engine)) as s:
        for i, h in enumerate(holdings):
            stock.adjust(s, h.location, h.gtin, CAUSE, delta=1 + i % 3)


def _server_db_ports(pid: int) -> set[int]:
    """Local ports of the server process's TCP connections to PostgreSQL (port 5432)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == 5432 and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def snapshot_held(served: dict[str, Any], pid: int) -> bool:
    """Whether the server still reads in an open snapshot. PostgreSQL: one of its connections is in a transaction;
    SQLite: a reader pins an old snapshot, so the WAL cannot be checkpointed to the end (checked without waiting)."""
    url = served["url"]
    if is_sqlite(url):
        conn = sqlite3.connect(make_url(url).database, timeout=0)
        try:
            busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.close()
        return bool(busy)
    ports = sorted(_server_db_ports(pid))
    with served["engine"].connect() as conn:
        states = conn.execute(text("SELECT state FROM pg_stat_activity WHERE client_port = ANY(:ports)"), {"ports": ports}).scalars().all()
    return any(state in ("active", "idle in transaction") for state in states)


def test_a_client_that_leaves_mid_feed_gives_its_snapshot_back(served: dict[str, Any]) -> None:
    with serving(served["env"]) as (base, proc):
        host, port = base.removeprefix("http://").split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a slow reader: the server cannot run ahead far
        sock.connect((host, int(port)))
        auth = served["headers"]["Authorization"]
        sock.sendall(f"GET {URL} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\n\r\n".encode())
        received = b""
        while b'"rows":[' not in received:
            received += sock.recv(4096)
        assert received.startswith(b"HTTP/1.1 200")
        change_some(served["engine"], served["network"], 5, seed=1)  # a write after the feed's snapshot was taken
        wait_for(lambda: snapshot_held(served, proc.pid), "the feed's snapshot shows (the check can see one)")
        sock.close()  # the client is gone, mid-feed
        wait_for(lambda: not snapshot_held(served, proc.pid), "the server gave the snapshot back")
        cursor, rows = full_feed(base, served["headers"])  # and serves on
        assert {key: row[0] for key, row in rows.items()} == levels(served["engine"], served["network"])
        assert proc.poll() is None


def test_a_feed_cut_short_by_a_dying_server_is_never_taken_for_a_whole_one(served: dict[str, Any]) -> None:
    engine, network, headers = served["engine"], served["network"], served["headers"]
    with serving(served["env"]) as (base, proc):
        cursor, mirror = full_feed(base, headers)  # the last complete feed the consumer holds
        change_some(engine, network, 40, seed=2)
        with httpx.stream("GET", base + URL, headers=headers, timeout=60) as answer:  # the daily full feed, again
            assert answer.status_code == 200
            parts = answer.iter_bytes()
            received = next(parts)
            proc.kill()  # the server dies mid-feed
            proc.wait(10)
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                for part in parts:
                    received += part
        with pytest.raises(json.JSONDecodeError):
            json.loads(received)  # what arrived is no feed: `count` comes last
    change_some(engine, network, 40, seed=3)  # changes while no server runs
    with serving(served["env"]) as (base, _proc):
        new_cursor, changed = full_feed(base, headers, since=cursor)  # the consumer asks again from its last cursor
        mirror.update(changed)
        _, full = full_feed(base, headers)
        assert mirror == full and new_cursor != cursor
        assert {key: row[0] for key, row in full.items()} == levels(engine, network)

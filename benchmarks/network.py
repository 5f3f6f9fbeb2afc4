"""What several benchmarks share: a database of their own (a schema on PostgreSQL), a network of warehouses and
stores over France with stock of PRODUCTS products, and the API in a child process."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text

from fulfil.auth.service import create_token
from fulfil.db import make_engine, make_session_factory, unit_of_work
from fulfil.migrate import upgrade_engine
from fulfil.models import Location, LocationKind, Product, Role, StockCause
from fulfil.stock import service as stock
from rfid.epc.gs1 import gtin_check_digit

PRODUCTS = 60
HOURS = {d: [["09:00", "19:30"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}


def gtin(i: int) -> str:
    """The i-th product's GTIN-14 (company prefix 0614141)."""
    body = "0" + "0614141" + f"{70_000 + i:05d}"
    return body + str(gtin_check_digit(body))



def own_database(url: str) -> tuple[str, str | None]:
    """A URL to an empty database of its own (a schema on PostgreSQL) and the schema to drop afterwards."""
    if "postgres" not in url:
        return f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}", None
    schema = f"fulfil_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}", schema



def seed_network(url: str, warehouses: int, stores: int, seed: int) -> str:
    """Locations over metropolitan France with stock of PRODUCTS products; returns a channel token."""
    engine = make_engine(url)
    upgrade_engine(engine)
    factory = make_session_factory(engine)
    rng = random.Random(seed)
    cause = stock.Cause(StockCause.SYSTEM, actor="bench", reason="receipt")
    with unit_of_work(factory) as s:
        for i in range(PRODUCTS):
            s.add(Product(gtin=gtin(i), name=f"bench {i}", company_prefix_length=7))
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
                    stock.adjust(s, loc, gtin(i), cause, delta=rng.randint(1, 40) * (20 if kind is LocationKind.WAREHOUSE else 1))
        secret = create_token(s, role=Role.CHANNEL, name="bench").secret
    engine.dispose()
    return secret



def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])



class Server:
    """`uvicorn fulfil.app:create_app --factory` in a child process, settings from the environment."""

    def __init__(self, url: str) -> None:
        self.port = free_port()
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

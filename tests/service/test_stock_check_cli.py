"""`fulfil stock check` as ops run it, and the demo seed taking its orders in through the one intake (routed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from fulfil.db import make_engine
from tests.service.test_cli import run


@pytest.fixture()
def env(fresh_database_url: str) -> dict[str, str]:
    return {**os.environ, "FULFIL_DATABASE_URL": fresh_database_url, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}


def test_seeded_demo_orders_are_routed_and_the_books_are_right(env: dict[str, str], fresh_database_url: str) -> None:
    assert run(["db", "upgrade"], env).returncode == 0
    seeded = run(["seed", "--demo"], env)
    assert seeded.returncode == 0, seeded.stderr
    engine = make_engine(fresh_database_url)
    try:
        with engine.connect() as conn:
            statuses = dict(conn.execute(text("SELECT external_id, status FROM orders")).all())
            reserved = conn.execute(text("SELECT COALESCE(SUM(reserved), 0) FROM stock_levels")).scalar_one()
    finally:
        engine.dispose()
    assert set(statuses) == {"DEMO-W-1001", "DEMO-W-1002", "DEMO-S-0042"}
    assert set(statuses.values()) <= {"routed", "partially_routed"}, statuses
    assert reserved == 5  # 1 + 1, 2 and 1 units: every demo order holds its stock
    checked = run(["stock", "check"], env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout == "" and "consistent" in checked.stderr


@pytest.mark.stock_drift
def test_drift_is_printed_per_pair_and_exits_1(env: dict[str, str], fresh_database_url: str) -> None:
    assert run(["db", "upgrade"], env).returncode == 0
    assert run(["seed", "--demo"], env).returncode == 0
    engine = make_engine(fresh_database_url)
    try:
        with engine.begin() as conn:
            # A reservation no shipment holds, as the old rejection-after-picking path left behind.
            loc, gtin = conn.execute(text("SELECT location_id, gtin FROM stock_levels WHERE on_hand - reserved > 0 ORDER BY 1, 2 LIMIT 1")).one()
            conn.execute(text("UPDATE stock_levels SET reserved = reserved + 2 WHERE location_id = :l AND gtin = :g"), {"l": loc, "g": gtin})
    finally:
        engine.dispose()
    checked = run(["stock", "check"], env)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    assert f"{loc} {gtin}: reserved is" in lines[0] and "shipments say" in lines[0] and "(+2)" in lines[0]
    assert any("events say" in line for line in lines)  # the log does not explain the extra 2 either
    assert "1 (location, GTIN) pairs disagree" in checked.stderr

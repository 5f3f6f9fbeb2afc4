"""`fulfil demo --duration`: a simulated hour of the whole demo network, run as a newcomer would run it (its own
process, the configured database, a private Mosquitto, the readers and people speaking the real wire), and what its
summary says checked against the database afterwards."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from fulfil.db import make_engine, make_session_factory
from fulfil.models import Order, ParcelVerification, Return, Shipment, StockCause, StockEvent
from fulfil.stock.invariant import check
from simulators.broker import BrokerError, find_mosquitto
from tests.service.test_cli import run

# A simulated hour at 90x: about 40 s of wall clock here (the summary says how far the service lagged behind).
DEMO = ["demo", "--speed", "90", "--duration", "1h", "--orders-per-hour", "240", "--port", "0", "--seed", "7"]


def test_a_simulated_hour_routes_picks_verifies_ships_collects_and_returns(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    try:
        find_mosquitto()
    except BrokerError as exc:
        pytest.skip(f"{exc}: the demo's readers publish through a private Mosquitto (apt-get install mosquitto)")
    summary_file = tmp_path / "summary.json"
    try:
        result = run([*DEMO, "--summary-json", str(summary_file)], env, timeout=600, cwd=tmp_path)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"the bounded demo did not end: {exc.stdout!r} {exc.stderr!r}") from None
    said = result.stdout + result.stderr
    assert result.returncode == 0, said[-6000:]
    for line in ("Ops console  http://127.0.0.1:", "/ops      token: ffl_", "Store app    http://127.0.0.1:", "PIN: ", "Summary: 1.0 simulated hours",
                 "stock: consistent"):
        assert line in result.stdout, f"{line!r} not printed:\n{said[-4000:]}"
    summary = json.loads(summary_file.read_text())
    db, people = summary["database"], summary["simulation"]

    # Every stage of an order's life happened, in the service's books, not only in the simulation's tally.
    assert db["orders"] >= 150 and db["orders_routed"] == db["orders"], db
    assert db["shipments_picked"] >= 50 and db["parcels_verified_by_rfid"] >= 50 and db["parcels_shipped"] >= 20, db
    assert db["pickups_collected"] >= 1 and db["returns"] >= 1, db
    assert db["reader_stock_events"].get("receipt", 0) >= 100, db  # cartons read in at the docks
    assert people["returns taken in another store"] >= 1 and people["short picks"] >= 1 and people["walk-in sales"] >= 1, people
    assert set(people) >= {"orders placed: home", "orders placed: collect", "orders placed: curbside", "orders placed: endless_aisle"}
    assert summary["server_errors"] == 0 and summary["transport_errors"] == 0 and summary["stock"]["consistent"]

    # The same read back from the database by the test itself.
    engine = make_engine(env["FULFIL_DATABASE_URL"])
    try:
        with make_session_factory(engine)() as session:
            ids = list(session.scalars(select(Order.id).where(Order.external_id.like("SIM-%"))))
            assert len(ids) == db["orders"]
            collected = session.scalar(select(func.count()).select_from(Shipment).where(Shipment.order_id.in_(ids), Shipment.status == "collected"))
            assert collected == db["pickups_collected"]
            complete = session.scalar(select(func.count()).select_from(ParcelVerification).join(Shipment, Shipment.id == ParcelVerification.shipment_id)
                                      .where(Shipment.order_id.in_(ids), ParcelVerification.complete.is_(True)))
            assert complete == db["parcels_verified_by_rfid"]
            returns = session.scalars(select(Return).where(Return.order_id.in_(ids))).all()
            assert len(returns) == db["returns"]
            # Returned in another store than the one the customer collected at.
            for r in returns:
                pickup = session.scalar(select(Order.pickup_location_id).where(Order.id == r.order_id))
                assert pickup is None or r.location_id != pickup
            received = session.scalar(select(func.count()).select_from(StockEvent).where(StockEvent.cause == StockCause.READER, StockEvent.kind == "receipt"))
            assert received == db["reader_stock_events"]["receipt"]
            # The stock invariant and the event log, checked afresh after the demo stopped.
            assert check(session) == []
            # The simulated people's tokens were revoked when it stopped; the demo's ops token stays for the console.
            live = session.execute(text("SELECT name FROM api_tokens WHERE revoked_at IS NULL")).scalars().all()
            assert "demo-ops" in live and not [n for n in live if n.startswith("sim-")]
    finally:
        engine.dispose()
    check_cli = run(["stock", "check"], env, cwd=tmp_path)
    assert check_cli.returncode == 0, check_cli.stdout + check_cli.stderr
    # Its private broker stopped with it.
    assert (tmp_path / "var" / "mosquitto").is_dir()
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path / "var" / "mosquitto")], capture_output=True, text=True)
    assert leftover.stdout == "", f"the demo's broker outlived it: {leftover.stdout}"


def test_without_a_broker_the_readers_post_to_the_http_ingest(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    """What a machine without Mosquitto gets (`--readers http` forces it here): the same readers through the HTTP
    ingest route, each with a device token of its location."""
    summary_file = tmp_path / "summary.json"
    result = run(["demo", "--readers", "http", "--speed", "120", "--duration", "20m", "--port", "0", "--summary-json", str(summary_file)],
                 env, timeout=600, cwd=tmp_path)
    said = result.stdout + result.stderr
    assert result.returncode == 0, said[-6000:]
    assert "readers file var/demo-network-readers.toml: 9 readers (HTTP)" in said and "Mosquitto on" not in said
    assert 'transport = "http"' in (tmp_path / "var" / "demo-network-readers.toml").read_text()
    assert not (tmp_path / "var" / "mosquitto").exists()
    summary = json.loads(summary_file.read_text())
    db = summary["database"]
    assert db["reader_stock_events"].get("receipt", 0) >= 12 and db["parcels_verified_by_rfid"] >= 5, db
    assert summary["simulation"].get("parcels closed by hand", 0) == 0 and summary["stock"]["consistent"] and summary["server_errors"] == 0

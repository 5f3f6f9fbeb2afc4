"""The `fulfil` command as a user runs it: real processes on a fresh database, and a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

FULFIL = [sys.executable, "-m", "fulfil.cli"]
SERVER_START_DEADLINE_S = 30.0


def run(args: list[str], env: dict[str, str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*FULFIL, *args], env=env, capture_output=True, text=True, timeout=120, **kw)  # type: ignore[call-overload]


@pytest.fixture()
def env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "FULFIL_DATABASE_URL": fresh_database_url, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}


def test_upgrade_seed_token_revoke(env: dict[str, str]) -> None:
    assert run(["db", "upgrade"], env).returncode == 0
    first = run(["seed", "--demo"], env)
    assert first.returncode == 0, first.stderr
    assert "seeded 9 locations" in first.stderr
    again = run(["seed", "--demo"], env)
    assert again.returncode == 0 and "already present" in again.stderr
    created = run(["token", "create", "--role", "picker", "--store", "ST-LYON-01", "--name", "lyon-handheld"], env)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("ffl_") and "\n" not in secret
    listing = run(["token", "list"], env).stdout
    assert "lyon-handheld" in listing and secret not in listing
    token_id = listing.split("\t")[0]
    assert run(["token", "revoke", token_id], env).returncode == 0
    assert "lyon-handheld" not in run(["token", "list"], env).stdout


def test_token_errors_are_clear_and_exit_2(env: dict[str, str]) -> None:
    run(["db", "upgrade"], env)
    missing_store = run(["token", "create", "--role", "picker"], env)
    assert missing_store.returncode == 2 and "needs --store" in missing_store.stderr and "Traceback" not in missing_store.stderr
    unknown = run(["token", "create", "--role", "device", "--store", "NOWHERE"], env)
    assert unknown.returncode == 2 and "not found" in unknown.stderr
    bad_role = run(["token", "create", "--role", "root"], env)
    assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def server(env: dict[str, str]) -> Iterator[tuple[str, str]]:
    run(["db", "upgrade"], env)
    run(["seed", "--demo"], env)
    token = run(["token", "create", "--role", "ops"], env).stdout.strip()
    port = free_port()
    proc = subprocess.Popen([*FULFIL, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_DEADLINE_S
    try:
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not become ready: {proc.stdout.read() if proc.stdout else ''}")
            time.sleep(0.1)  # polling a condition with a deadline, not synchronising by sleep
        yield base, token
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_answers_with_demo_data(server: tuple[str, str]) -> None:
    base, token = server
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{base}/api/v1/locations").status_code == 401
    locations = httpx.get(f"{base}/api/v1/locations", headers=headers).json()
    assert {"DC-PARIS", "ST-LYON-01"} <= {loc["id"] for loc in locations}
    stock = httpx.get(f"{base}/api/v1/stock?location_id=DC-PARIS", headers=headers).json()
    assert stock and all(row["available"] == row["on_hand"] - row["reserved"] - row["safety"] for row in stock)
    orders = httpx.get(f"{base}/api/v1/orders", headers=headers).json()
    assert {"DEMO-W-1001", "DEMO-S-0042"} <= {o["external_id"] for o in orders}

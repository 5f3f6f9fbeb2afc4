"""The `fulfil` command as a user runs it: real processes on a fresh database, and a real server."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from sqlalchemy import text

from fulfil.db import make_engine
from fulfil.demo import demo_gtin
from rfid.epc import encode_sgtin96
from simulators.broker import BrokerError, MosquittoBroker, find_mosquitto
from tests.hardware.conftest_mqtt import Publisher
from tests.ingest.conftest import impinj

FULFIL = [sys.executable, "-m", "fulfil.cli"]
SERVER_START_DEADLINE_S = 30.0


def run(args: list[str], env: dict[str, str], timeout: float = 120, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*FULFIL, *args], env=env, capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload]


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
    unscoped = run(["token", "create", "--role", "device"], env)
    assert unscoped.returncode == 2 and "a device token needs --store" in unscoped.stderr and not unscoped.stdout
    unknown = run(["token", "create", "--role", "device", "--store", "NOWHERE"], env)
    assert unknown.returncode == 2 and "not found" in unknown.stderr
    bad_role = run(["token", "create", "--role", "root"], env)
    assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(env: dict[str, str], *extra: str, cwd: Path | None = None, drain: bool = False) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`fulfil serve` in a real process until /readyz answers; SIGTERM (a graceful stop) at the end. `drain`: its
    output is read as it comes (a chatty server never blocks on a full pipe), its last lines kept in `server_log(proc)`."""
    port = free_port()
    proc = subprocess.Popen([*FULFIL, "serve", "--port", str(port), *extra], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if drain:
        tail: deque[str] = deque(maxlen=300)
        _LOGS[proc.pid] = tail
        threading.Thread(target=lambda: tail.extend(proc.stdout or ()), daemon=True).start()
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
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)


_LOGS: dict[int, deque[str]] = {}


def server_log(proc: subprocess.Popen[str]) -> str:
    """The last lines a `serving(..., drain=True)` server printed."""
    return "".join(_LOGS.get(proc.pid, ()))


def seeded_token(env: dict[str, str]) -> str:
    assert run(["db", "upgrade"], env).returncode == 0
    assert run(["seed", "--demo"], env).returncode == 0
    return run(["token", "create", "--role", "ops"], env).stdout.strip()


@pytest.fixture()
def server(env: dict[str, str]) -> Iterator[tuple[str, str]]:
    token = seeded_token(env)
    with serving(env) as (base, _proc):
        yield base, token


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


def ingest_readers_file(tmp_path: Path, location: str, topic: str) -> Path:
    path = tmp_path / "readers.toml"
    path.write_text(f"""
client_id = "cli-ingest-{uuid.uuid4().hex[:6]}"
[zones.receiving]
arrival_reads = 1
arrival_ms = 0
[[readers]]
id = "r700-cli"
location = "{location}"
transport = "mqtt"
topic = "{topic}"
format = "impinj"
[readers.antennas]
1 = "receiving"
""")
    return path


def ingest_started(proc: subprocess.Popen[str]) -> str:
    """Read `fulfil ingest`'s output until it says it is ingesting (subscribed), with no warning on the way; that line."""
    deadline = time.monotonic() + SERVER_START_DEADLINE_S
    while "ingesting from" not in (line := proc.stdout.readline() if proc.stdout else ""):
        assert line and time.monotonic() < deadline, "fulfil ingest did not start"
        assert "warning" not in line and "error" not in line, line
    return line


def test_ingest_command_runs_workers_alone_and_stops_cleanly(env: dict[str, str], fresh_database_url: str, tmp_path: Path) -> None:
    try:
        find_mosquitto()
    except BrokerError as exc:
        pytest.skip(str(exc))
    seeded_token(env)
    topic = f"cli/{uuid.uuid4().hex[:6]}/events"
    readers = ingest_readers_file(tmp_path, "ST-NANTES-01", topic)
    epcs = [encode_sgtin96(demo_gtin(10003), 777_000 + i, 7) for i in range(3)]
    with MosquittoBroker(tmp_path / "mosquitto") as broker:
        proc = subprocess.Popen([*FULFIL, "ingest", "--config", str(readers), "--mqtt-url", broker.url], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        engine = make_engine(fresh_database_url)
        try:
            publisher = Publisher(broker)
            # The first start creates the persistent session: the command says it is ingesting once subscribed.
            ingest_started(proc)
            deadline = time.monotonic() + SERVER_START_DEADLINE_S
            publisher.send(topic, [impinj(epc, 1) for epc in epcs] * 2)
            publisher.flush()
            publisher.close()

            def receipts() -> int:
                with engine.connect() as conn:
                    return int(conn.execute(text("SELECT count(*) FROM stock_events WHERE cause = 'reader' AND location_id = 'ST-NANTES-01'")).scalar_one())

            while receipts() < 3:
                assert time.monotonic() < deadline + 20, "reads were not applied"
                time.sleep(0.1)  # polling the database with a deadline
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            engine.dispose()
        assert proc.returncode == 0
        assert receipts() == 3


@pytest.mark.parametrize(("readers", "mqtt_url", "message"), [
    ("unknown-location", "mqtt://127.0.0.1:1", "locations the database does not have: ST-NOWHERE"),
    ("good", None, "FULFIL_MQTT_URL is not set"),
    ("broken", None, "not valid TOML"),
])
def test_ingest_command_refuses_what_cannot_work(env: dict[str, str], tmp_path: Path, readers: str, mqtt_url: str | None, message: str) -> None:
    seeded_token(env)
    path = ingest_readers_file(tmp_path, "ST-NOWHERE" if readers == "unknown-location" else "ST-NANTES-01", "t/events")
    if readers == "broken":
        path.write_text("[[readers]\n")
    env = {k: v for k, v in env.items() if k != "FULFIL_MQTT_URL"}
    result = run(["ingest", "--config", str(path), *(["--mqtt-url", mqtt_url] if mqtt_url else [])], env, timeout=60)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def active_tokens(env: dict[str, str], name: str) -> list[str]:
    """`token list` rows (id, role, store, name, prefix, state) of the active tokens called `name`."""
    rows = [line.split("\t") for line in run(["token", "list"], env).stdout.splitlines()]
    return [row[0] + ":" + row[4].rstrip("…") for row in rows if row[3] == name]


def test_token_demo_keeps_one_demo_token_and_reuses_it_while_valid(env: dict[str, str], tmp_path: Path) -> None:
    assert run(["db", "upgrade"], env).returncode == 0
    assert run(["seed", "--demo"], env).returncode == 0
    # What `make run` did before: a new "demo-ops" token on every run, never revoked.
    older = [run(["token", "create", "--role", "ops", "--name", "demo-ops"], env).stdout.strip() for _ in range(2)]
    user_token = run(["token", "create", "--role", "ops", "--name", "alice"], env).stdout.strip()
    kept = tmp_path / "var" / "demo-ops-token"

    first = run(["token", "demo"], env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    secret = first.stdout.strip()
    assert secret.startswith("ffl_") and secret not in older and "\n" not in secret
    assert kept.read_text() == secret + "\n"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert "revoked the earlier demo token(s)" in first.stderr
    assert [row.split(":")[1] for row in active_tokens(env, "demo-ops")] == [secret[:12]]  # the old ones are revoked
    assert [row.split(":")[1] for row in active_tokens(env, "alice")] == [user_token[:12]]  # other tokens untouched

    again = run(["token", "demo"], env, cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.strip() == secret and "reused" in again.stderr
    assert len(active_tokens(env, "demo-ops")) == 1

    # Revoked (or from another database): replaced, and the file follows.
    assert run(["token", "revoke", active_tokens(env, "demo-ops")[0].split(":")[0]], env).returncode == 0
    fresh = run(["token", "demo"], env, cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    renewed = fresh.stdout.strip()
    assert renewed != secret and kept.read_text() == renewed + "\n" and kept.stat().st_mode & 0o777 == 0o600
    assert [row.split(":")[1] for row in active_tokens(env, "demo-ops")] == [renewed[:12]]

    # A file holding something else is replaced too.
    kept.write_text("not a token\n")
    assert run(["token", "demo"], env, cwd=tmp_path).stdout.strip() not in ("not a token", renewed)
    assert len(active_tokens(env, "demo-ops")) == 1


def test_token_demo_that_cannot_keep_its_token_changes_nothing(env: dict[str, str], tmp_path: Path) -> None:
    assert run(["db", "upgrade"], env).returncode == 0
    older = run(["token", "create", "--role", "ops", "--name", "demo-ops"], env).stdout.strip()
    before = active_tokens(env, "demo-ops")
    assert [row.split(":")[1] for row in before] == [older[:12]]
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "demo-ops-token.tmp").mkdir()  # where the new file is written first: not writable
    failed = run(["token", "demo"], env, cwd=tmp_path)
    assert failed.returncode == 2 and failed.stdout == ""
    assert "cannot write var/demo-ops-token: Is a directory" in failed.stderr and "Traceback" not in failed.stderr
    assert active_tokens(env, "demo-ops") == before  # nothing minted, nothing revoked
    (tmp_path / "var" / "demo-ops-token.tmp").rmdir()
    ok = run(["token", "demo"], env, cwd=tmp_path)
    assert ok.returncode == 0 and len(active_tokens(env, "demo-ops")) == 1 and active_tokens(env, "demo-ops") != before
    # A garbled file is no token: replaced like a revoked one.
    (tmp_path / "var" / "demo-ops-token").write_bytes(b"\xff\xfe")
    garbled = run(["token", "demo"], env, cwd=tmp_path)
    assert garbled.returncode == 0 and garbled.stdout.strip() != ok.stdout.strip()
    assert len(active_tokens(env, "demo-ops")) == 1


def test_serve_stops_at_once_with_a_live_stream_open(env: dict[str, str], tmp_path: Path) -> None:
    """A store app page left open holds a live stream: SIGTERM still stops the server (the stream ends, the client
    would reconnect elsewhere), without waiting on it and without cancelling it half-way."""
    headers = {"Authorization": f"Bearer {seeded_token(env)}"}
    with serving(env, cwd=tmp_path, drain=True) as (base, proc):
        with httpx.stream("GET", f"{base}/api/v1/locations/ST-LYON-01/stream", headers=headers, timeout=30) as stream:
            lines = stream.iter_lines()
            assert next(lines).startswith("retry:")
            proc.terminate()
            assert proc.wait(timeout=15) == 0, server_log(proc)  # before: uvicorn waited for the stream forever
            list(lines)  # the server ended the stream: the iteration finishes (else a read timeout)
    assert "graceful shutdown exceeded" not in server_log(proc) and "Traceback" not in server_log(proc), server_log(proc)


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_serve_on_a_taken_port_fails_first_with_one_line(env: dict[str, str], tmp_path: Path, command: str) -> None:
    assert run(["db", "upgrade"], env).returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in env.items() if k not in ("FULFIL_MQTT_URL", "FULFIL_READERS_CONFIG")}
        # The demo would seed, start a broker and readers and write var/: none of it may happen.
        result = run([command, "--port", str(port)], env, timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"fulfil: error: cannot serve on http://127.0.0.1:{port}: address already in use\n"
    assert result.stdout == ""  # no "Fulfil API on ..." line, no seeding
    assert not (tmp_path / "var").exists()
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert leftover.stdout == "", f"something was started: {leftover.stdout}"


@pytest.mark.parametrize(("args", "message"), [
    (["--port", "70000"], "'70000' is not a port (1-65535)"),
    (["--port", "http"], "'http' is not a port (1-65535)"),
    (["--host", "no-such-host.invalid"], "cannot serve on http://no-such-host.invalid:"),
])
def test_serve_with_an_impossible_address_says_why(env: dict[str, str], tmp_path: Path, args: list[str], message: str) -> None:
    result = run(["serve", *args], env, timeout=60, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""

"""Ingest scale-out (issue 16): `fulfil ingest --partition K/N` processes share one readers file, each smoothing whole
locations (every zone of a location in one process, so arrival windows and exit portals see all their reads). A
partition killed mid-run is adopted by another process within seconds, from the broker session it left, and handed
back when its own process returns (fulfil.ingest.partitions); with `--no-adopt` its readers' messages wait at the
broker until it is started again. Either way nothing is lost or counted twice."""

from __future__ import annotations

import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from fulfil.db import make_engine
from fulfil.demo import demo_gtin
from fulfil.ingest.config import load_config, partition_of
from fulfil.ingest.partitions import lead_name
from rfid.epc import encode_sgtin96
from simulators.broker import BrokerError, MosquittoBroker, find_mosquitto
from tests.hardware.conftest_mqtt import Publisher
from tests.ingest.conftest import impinj
from tests.service.cluster import lock_holders
from tests.service.test_cli import FULFIL, ingest_started, seeded_token
from tests.waiting import wait_for

STORES = ["ST-PARIS-01", "ST-LYON-01", "ST-LILLE-01", "ST-NANTES-01"]  # partitions 1, 1, 2, 2 of 2
TAGS = 4  # per store and wave
DEADLINE_S = 60.0


def _readers(tmp_path: Path, run_id: str) -> Path:
    path = tmp_path / "readers.toml"
    body = [f'client_id = "part-{run_id}"', "[zones.receiving]", "arrival_reads = 1", "arrival_ms = 0"]
    for store in STORES:
        body += ["[[readers]]", f'id = "dock-{store}"', f'location = "{store}"', 'transport = "mqtt"', f'topic = "part/{run_id}/{store}"',
                 'format = "impinj"', "[readers.antennas]", '1 = "receiving"']
    path.write_text("\n".join(body) + "\n")
    return path


@contextmanager
def _ingest(env: dict[str, str], readers: Path, broker: MosquittoBroker, partition: str, *more: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([*FULFIL, "ingest", "--config", str(readers), "--mqtt-url", broker.url, "--partition", partition, *more],
                            env={**env, "FULFIL_JOB_LEADER_POLL_SECONDS": "0.3", "FULFIL_INGEST_ADOPT_SECONDS": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = ingest_started(proc)
        assert "2 location(s)" in line, line
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


def _receipts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT location_id, count(*) FROM stock_events WHERE cause = 'reader' GROUP BY location_id")).all()
    return {store: dict(rows).get(store, 0) for store in STORES}


def _wave(publisher: Publisher, run_id: str, wave: int) -> None:
    for k, store in enumerate(STORES):
        epcs = [encode_sgtin96(demo_gtin(10003), 5_000_000 + wave * 100_000 + k * 1_000 + i, 7) for i in range(TAGS)]
        publisher.send(f"part/{run_id}/{store}", [impinj(epc, 1) for epc in epcs] * 2)  # every tag read twice
    publisher.flush()


@dataclass
class World:
    run_id: str
    readers: Path
    engine: Engine


@pytest.fixture()
def world(env: dict[str, str], fresh_database_url: str, tmp_path: Path) -> Iterator[World]:
    """A seeded database, a readers file of the four stores on topics of this run, an engine to count receipts by."""
    try:
        find_mosquitto()
    except BrokerError as exc:
        pytest.skip(str(exc))
    seeded_token(env)
    run_id = uuid.uuid4().hex[:6]
    engine = make_engine(fresh_database_url)
    try:
        yield World(run_id, _readers(tmp_path, run_id), engine)
    finally:
        engine.dispose()


def _first_wave_then_kill(env: dict[str, str], world: World, broker: MosquittoBroker, publisher: Publisher, *flags: str) -> None:
    """Partition 1 started, the first wave ingested in every store, then partition 1 SIGKILLed."""
    with _ingest(env, world.readers, broker, "1/2", *flags) as first:
        _wave(publisher, world.run_id, 1)
        wait_for(lambda: _receipts(world.engine) == dict.fromkeys(STORES, TAGS), "the first wave in every store", DEADLINE_S)
        first.send_signal(signal.SIGKILL)  # mid-run: no goodbye to the broker or the database
        first.wait(timeout=30)


def test_partitions_split_the_readers_by_location_and_without_adoption_a_killed_one_resumes_its_own(
    env: dict[str, str], world: World, tmp_path: Path,
) -> None:
    run_id, readers, engine = world.run_id, world.readers, world.engine
    config = load_config(readers)
    assert [partition_of(s, 2) for s in STORES] == [1, 1, 2, 2]
    assert {r.location for r in config.partition(1, 2).readers} == set(STORES[:2])
    assert config.partition(2, 2).client_id == f"part-{run_id}-p2of2"
    with MosquittoBroker(tmp_path / "mosquitto") as broker, _ingest(env, readers, broker, "2/2", "--no-adopt") as second:
        publisher = Publisher(broker)
        _first_wave_then_kill(env, world, broker, publisher, "--no-adopt")
        _wave(publisher, run_id, 2)
        # The second partition takes its own stores' reads; the first's wait at the broker for their process.
        wait_for(lambda: _receipts(engine)["ST-NANTES-01"] == 2 * TAGS and _receipts(engine)["ST-LILLE-01"] == 2 * TAGS,
                 "the second wave in the second partition's stores", DEADLINE_S)
        assert _receipts(engine)["ST-PARIS-01"] == TAGS and _receipts(engine)["ST-LYON-01"] == TAGS
        with _ingest(env, readers, broker, "1/2", "--no-adopt"):  # restarted (as systemd would): its session's messages come
            wait_for(lambda: _receipts(engine) == dict.fromkeys(STORES, 2 * TAGS), "the second wave in every store", DEADLINE_S)
            publisher.close()
        assert second.poll() is None
    assert _receipts(engine) == dict.fromkeys(STORES, 2 * TAGS)  # nothing lost, nothing counted twice


def test_a_killed_partition_is_adopted_by_the_other_process_and_handed_back_when_its_own_returns(
    env: dict[str, str], world: World, tmp_path: Path,
) -> None:
    run_id, readers, engine = world.run_id, world.readers, world.engine
    with MosquittoBroker(tmp_path / "mosquitto") as broker, _ingest(env, readers, broker, "2/2") as second:
        publisher = Publisher(broker)
        _first_wave_then_kill(env, world, broker, publisher)
        _wave(publisher, run_id, 2)
        # Nobody restarts the first process: the second adopts its partition, whose session kept the messages.
        wait_for(lambda: _receipts(engine) == dict.fromkeys(STORES, 2 * TAGS), "the second wave in every store, by the survivor", DEADLINE_S)
        assert _holder(engine, 1) in (None, [second.pid]) and _holder(engine, 2) in (None, [second.pid])
        with _ingest(env, readers, broker, "1/2") as back:  # its own process returns: the partition is handed back
            # `_ingest` returned once the returning process said it ingests its partition: the survivor gave it up.
            _wave(publisher, run_id, 3)
            wait_for(lambda: _receipts(engine) == dict.fromkeys(STORES, 3 * TAGS), "the third wave in every store", DEADLINE_S)
            assert back.poll() is None and second.poll() is None
            assert _holder(engine, 1) in (None, [back.pid]) and _holder(engine, 2) in (None, [second.pid])
            publisher.close()
        second.terminate()
        said = second.communicate(timeout=30)[0]
    assert "adopted partition 1/2 (its process is gone): 2 reader(s)" in said, said
    assert "partition 1/2 stopped here: its own process is back: handed back" in said, said
    assert second.returncode == 0, said
    assert _receipts(engine) == dict.fromkeys(STORES, 3 * TAGS)  # nothing lost, nothing counted twice


def _holder(engine: Engine, index: int) -> list[int] | None:
    """The pids holding partition `index`/2's lock as PostgreSQL sees them; None on SQLite (kernel file locks)."""
    return lock_holders(engine, lead_name(index, 2)) if engine.dialect.name == "postgresql" else None


def test_a_partition_out_of_range_or_empty_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    from tests.service.test_cli import run

    seeded_token(env)
    readers = _readers(tmp_path, "x")
    for partition, message in (("3/2", "K must be 1..N"), ("0/2", "K must be 1..N"), ("a/b", "is not K/N"), ("2/5", "holds no reader")):
        result = run(["ingest", "--config", str(readers), "--mqtt-url", "mqtt://127.0.0.1:1", "--partition", partition], env, timeout=60)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, (partition, result.stderr)

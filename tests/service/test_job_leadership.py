"""Background jobs exactly once per cluster (issue 16), with real `fulfil serve` processes on one database: each job
is led by one process; a leader killed with SIGKILL mid-job is replaced within seconds, and nothing is lost or done
twice. On PostgreSQL three processes and `--workers`; on SQLite two processes on one file (one leads, by a file lock)
and `--workers` refused."""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select, update

from fulfil.db import is_sqlite, make_engine, make_session_factory, snapshot_session
from fulfil.demo import demo_gtin
from fulfil.models import (
    DeliveryStatus,
    HoldStatus,
    RoutingRun,
    StockEvent,
    StockHold,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
)
from fulfil.models.base import utcnow
from fulfil.routing_runs.repository import SCHEDULED_RUN_LOCK
from tests.service.cluster import (
    JOBS,
    Server,
    cluster,
    cluster_env,
    leaders,
    lock_held,
    lock_holders,
    one_leader_each,
    one_lock_each,
    start,
    worker_pids,
)
from tests.service.test_cli import free_port, run
from tests.waiting import wait_for
from tests.webhooks.receiver import Receiver

HOLDS = 150
TAKEOVER_DEADLINE_S = 15.0  # the poll is 0.3 s; a loaded machine answers slowly
LYON = {"lat": 45.76, "lon": 4.84}
CITIES = [{"lat": 45.76, "lon": 4.84}, {"lat": 48.86, "lon": 2.35}, {"lat": 43.30, "lon": 5.37}, {"lat": 44.84, "lon": -0.58},
          {"lat": 50.63, "lon": 3.06}, {"lat": 47.22, "lon": -1.55}, {"lat": 43.60, "lon": 1.44}]


@pytest.fixture()
def db(fresh_database_url: str) -> Iterator[Engine]:
    """The cluster's database, for the test's own reads (after `fulfil db upgrade` made it)."""
    eng = make_engine(fresh_database_url)
    yield eng
    eng.dispose()


def prepare(env: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Migrate and seed the demo network; headers of an ops token and of a channel token."""
    assert run(["db", "upgrade"], env).returncode == 0
    seeded = run(["seed", "--demo"], env)
    assert seeded.returncode == 0, seeded.stderr
    tokens = []
    for role in ("ops", "channel"):
        made = run(["token", "create", "--role", role, "--name", f"cluster-{role}"], env)
        assert made.returncode == 0, made.stderr
        tokens.append({"Authorization": f"Bearer {made.stdout.strip()}"})
    return tokens[0], tokens[1]


def test_each_job_has_one_leader_and_a_leader_killed_mid_sweep_loses_nothing_and_repeats_nothing(
    fresh_database_url: str, db: Engine, tmp_path: Path,
) -> None:
    sqlite = is_sqlite(fresh_database_url)
    env = cluster_env(fresh_database_url)
    ops, channel = prepare(env)
    factory = make_session_factory(db)
    with Receiver() as receiver, cluster(env, 2 if sqlite else 3, tmp_path) as servers:
        endpoint = httpx.post(f"{servers[0].base}/api/v1/webhooks", headers=ops, timeout=30,
                              json={"url": receiver.url(), "event_types": ["availability.changed"]})
        assert endpoint.status_code == 201, endpoint.text
        receiver.secrets.append(endpoint.json()["secret"])
        led = wait_for(lambda: one_leader_each(servers), "one leader per job", 30)
        if sqlite:
            assert len(set(led.values())) == 1  # one process leads every job (the file lock)
        else:
            assert all(lock_holders(db, job) == [pid] for job, pid in led.items())  # what PostgreSQL says too

        # Holds taken through every process (Lyon's shelves run out: availability changes, webhooks go out).
        holds = []
        for i in range(HOLDS):
            answer = httpx.post(f"{servers[i % len(servers)].base}/api/v1/promise", headers=channel, timeout=30, json={
                "lines": [{"gtin": demo_gtin(10000 + i % 24), "qty": 1}], "ship_to": LYON, "hold_seconds": 3600})
            assert answer.status_code == 200, answer.text
            holds.append(answer.json()["hold"]["id"])
        with factory.begin() as s:  # their time runs out, all at once: the leader's next sweep has 150 to expire
            s.execute(update(StockHold).values(expires_at=utcnow() - timedelta(seconds=1)))

        def expired() -> int:
            # A snapshot read: on SQLite an ordinary transaction begins IMMEDIATE and would queue for the write lock
            # behind the sweep's transactions, seeing only its end.
            with snapshot_session(factory) as s:
                return int(s.scalar(select(func.count()).where(StockHold.status == HoldStatus.EXPIRED)) or 0)

        leader = next(s for s in servers if s.pid == led["hold-sweep"])
        at_kill = wait_for(lambda: (n := expired()) and n, "the sweep starts", 30, every=0.01)
        leader.kill()  # mid-sweep
        killed_at = time.monotonic()
        assert at_kill < HOLDS, "the sweep ended before the kill: nothing was killed mid-job"
        survivors = [s for s in servers if s.alive()]
        after = wait_for(lambda: one_leader_each(survivors), "another process leads every job", TAKEOVER_DEADLINE_S)
        took_over = time.monotonic() - killed_at
        assert leader.pid not in after.values()
        wait_for(lambda: expired() == HOLDS, "every hold expired", 30)
        if not sqlite:
            assert all(lock_holders(db, job) == [pid] for job, pid in after.items())

        # Every event delivered; one sent twice only if the killed process held its lease (at least once, same id).
        wait_for(lambda: _all_delivered(factory), "every webhook delivered", 60)
        with factory() as s:
            # What was published while the endpoint was subscribed (the seed's events were fanned out to no one).
            events = set(s.scalars(select(WebhookEvent.public_id).join(WebhookDelivery, WebhookDelivery.event_id == WebhookEvent.id)))
            unfinished = {a.delivery_id for a in s.scalars(select(WebhookAttempt).where(WebhookAttempt.duration_ms.is_(None)))}
            killed_leases = {public_id for (public_id,) in s.execute(
                select(WebhookEvent.public_id).join(WebhookDelivery, WebhookDelivery.event_id == WebhookEvent.id)
                .where(WebhookDelivery.id.in_(unfinished)))} if unfinished else set()
    assert events, "no availability change was published"
    times = Counter(receiver.ids())
    assert set(times) == events and all(r.verified for r in receiver.received)
    assert {e for e, n in times.items() if n > 1} <= killed_leases
    with factory() as s:  # each hold's units given back once: one release event per hold line
        released = Counter(s.scalars(select(StockEvent.hold_id).where(StockEvent.reason == "checkout hold expired")))
        lines = dict(s.execute(select(StockHold.id, func.count()).select_from(StockHold).join(StockHold.lines).group_by(StockHold.id)).all())
    assert released == Counter(lines), "a hold's units were released twice, or not at all"
    print(f"killed the hold-sweep leader after {at_kill}/{HOLDS} holds; another led in {took_over:.2f} s")


def _all_delivered(factory: object) -> bool:
    with factory() as s:  # type: ignore[operator]
        pending = s.scalar(select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status != DeliveryStatus.DELIVERED))
        fanned = s.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.fanned_out_at.is_(None)))
    return pending == 0 and fanned == 0


BATCH_INTERVAL = 3.0
ORDERS = 120


def test_scheduled_batch_runs_once_per_interval_and_a_run_killed_mid_way_is_redone_by_the_next_leader(
    fresh_database_url: str, db: Engine, tmp_path: Path,
) -> None:
    sqlite = is_sqlite(fresh_database_url)
    env = cluster_env(fresh_database_url, FULFIL_ROUTING_BATCH_INTERVAL_SECONDS=str(BATCH_INTERVAL), FULFIL_ROUTING_BATCH_TIME_LIMIT_SECONDS="5")
    ops, _channel = prepare(env)
    factory = make_session_factory(db)
    with cluster(env, 2, tmp_path) as servers:
        for i in range(ORDERS):  # open orders for the batch to weigh, taken in by both processes
            lines = [{"gtin": demo_gtin(10000 + (i * 7 + k) % 24), "qty": 1 + k % 2} for k in range(1 + i % 3)]
            body = {"external_id": f"CLUSTER-{i}", "channel": "web", "ship_to": {"name": "C", "address_lines": ["1 rue X"], "city": "X",
                    "postcode": "00000", "country": "FR", **CITIES[i % len(CITIES)]}, "lines": lines}
            answer = httpx.post(f"{servers[i % 2].base}/api/v1/orders", headers=ops, json=body, timeout=30)
            assert answer.status_code == 201, answer.text
        led = wait_for(lambda: one_leader_each(servers), "one leader per job", 30)
        leader = next(s for s in servers if s.pid == led["routing-batch"])
        wait_for(lambda: _runs(factory), "a first scheduled run", 3 * BATCH_INTERVAL + 30)
        if sqlite:  # no lock to see a run by: kill when the next run is due
            last = _runs(factory)[-1]
            wait_for(lambda: utcnow() >= last + timedelta(seconds=BATCH_INTERVAL), "the next run is due", 3 * BATCH_INTERVAL)
        else:
            wait_for(lambda: lock_held(db, SCHEDULED_RUN_LOCK), "a scheduled run in progress", 10 * BATCH_INTERVAL + 30, every=0.005)
        before = _runs(factory)
        leader.kill()
        killed = utcnow()
        mid_run = _runs(factory) == before  # nothing committed since the run was seen: it died before its commit
        survivor = next(s for s in servers if s.alive())
        wait_for(lambda: (led_now := leaders([survivor])) and led_now["routing-batch"] == [survivor.pid], "the other process leads routing-batch", TAKEOVER_DEADLINE_S)
        wait_for(lambda: [t for t in _runs(factory) if t > killed], "a run after the kill", BATCH_INTERVAL + TAKEOVER_DEADLINE_S + 10)
        first_after = min(t for t in _runs(factory) if t > killed)
        observe_until = time.monotonic() + 2 * BATCH_INTERVAL
        wait_for(lambda: time.monotonic() >= observe_until, "two more intervals", 3 * BATCH_INTERVAL)
    runs = _runs(factory)
    with factory() as s:
        statuses = Counter(s.scalars(select(RoutingRun.status).where(RoutingRun.trigger == "schedule")))
    assert statuses == {"done": len(runs)}  # the killed run left nothing (no 'running' row)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(runs)]
    assert min(gaps) >= BATCH_INTERVAL - 0.35, f"two scheduled runs in one interval: {gaps}"
    # The run the killed leader did not finish was redone once the other process led: one interval after the last
    # committed run at the latest, plus the takeover.
    assert (first_after - before[-1]).total_seconds() <= 2 * BATCH_INTERVAL + TAKEOVER_DEADLINE_S
    with factory() as s:
        seconds = list(s.scalars(select(RoutingRun.seconds).where(RoutingRun.trigger == "schedule")))
    print(f"{len(runs)} scheduled runs of {min(seconds):.2f}-{max(seconds):.2f} s, gaps {min(gaps):.2f}-{max(gaps):.2f} s; "
          f"killed mid-run: {mid_run}; redone {(first_after - before[-1]).total_seconds():.2f} s after the last committed run")


def _runs(factory: object) -> list:  # type: ignore[type-arg]
    with factory() as s:  # type: ignore[operator]
        return sorted(s.scalars(select(RoutingRun.started_at).where(RoutingRun.kind == "batch", RoutingRun.trigger == "schedule",
                                                                      RoutingRun.status == "done")))


def test_serve_workers_share_one_port_with_one_leader_per_job(fresh_database_url: str, db: Engine, tmp_path: Path) -> None:
    env = cluster_env(fresh_database_url)
    assert run(["db", "upgrade"], env).returncode == 0
    if is_sqlite(fresh_database_url):  # the SQLite rule: one process
        refused = run(["serve", "--workers", "2", "--port", str(free_port())], env, timeout=60)
        assert refused.returncode == 2 and refused.stdout == ""
        assert "--workers 2 needs PostgreSQL" in refused.stderr and "Traceback" not in refused.stderr
        return
    over = run(["serve", "--workers", "4", "--port", str(free_port())], {**env, "FULFIL_DATABASE_POOL_SIZE": "200", "FULFIL_DATABASE_MAX_OVERFLOW": "0"}, timeout=60)
    assert over.returncode == 2 and "connection budget exceeded: 4 process(es) x (200 pool + 0 overflow + 2 own) = 808" in over.stderr
    readers = tmp_path / "readers.toml"
    readers.write_text("")
    ingest = run(["serve", "--workers", "2", "--port", str(free_port())], {**env, "FULFIL_READERS_CONFIG": str(readers)}, timeout=60)
    assert ingest.returncode == 2 and "fulfil ingest --config FILE" in ingest.stderr
    supervisor = start_workers(env, tmp_path)
    try:
        workers = wait_for(lambda: one_lock_each(db, supervisor, 3), "3 workers, one lock holder per job", 120)
        for _ in range(6):  # the port answers (any worker; a loaded machine may answer slowly)
            wait_for(supervisor.health, "the workers' port answers /healthz", 30)
        leader = workers["hold-sweep"]
        _kill(leader)
        replaced = wait_for(lambda: (now := one_lock_each(db, supervisor, 3)) and leader not in now.values() and now, "a new worker, and the killed one's jobs led by another", 60)
        assert replaced
        supervisor.proc.terminate()
        assert supervisor.proc.wait(timeout=90) == 0, supervisor.output()
        assert worker_pids(supervisor.pid) == [] and all(lock_holders(db, job) == [] for job in JOBS)
    finally:
        if supervisor.alive():
            supervisor.proc.kill()
            supervisor.proc.wait()


def start_workers(env: dict[str, str], tmp_path: Path) -> Server:
    return start(env, tmp_path / "workers.log", "--workers", "3")


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)

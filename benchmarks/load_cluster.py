"""The cluster configuration of the load test (issue 16): `fulfil serve --workers N` with every background job on,
two `fulfil ingest --partition K/2` processes, a webhook receiver, the mixed load, and processes killed mid-run.

During the run (its fraction of the time in parentheses):
- (0.3) the worker leading batch routing is SIGKILLed while a scheduled run is in progress if one is seen within a
  few seconds (else at once); the supervisor starts another worker and another process takes the lead;
- (0.5) ingest partition 1 is SIGKILLed: partition 2's process adopts it from the broker session it left;
- (0.7) partition 1 is started again and takes its partition back.

After the run, once the readers' messages and the webhooks have drained, the books are checked: the stock invariant
and no oversold level (as every configuration), and exactly-once: every tag first read during the run received
once (one receipt each, none missing), scheduled batch runs at least an interval apart with none left running,
every webhook delivery delivered (the receiver saw each one; a redelivery of the same webhook-id after a kill is
counted and reported: Standard Webhooks' receivers deduplicate by it), and no hold left active past its expiry.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select, text

from benchmarks.network import free_port
from fulfil.auth.service import create_token
from fulfil.db import make_engine, make_session_factory, unit_of_work
from fulfil.ingest.partitions import lead_name
from fulfil.leadership import APPLICATION_NAME, key_sql
from fulfil.models import DeliveryStatus, HoldStatus, Role, RoutingRun, StockHold, WebhookDelivery, WebhookEndpoint, WebhookEvent
from fulfil.models.base import utcnow
from fulfil.routing_runs.repository import SCHEDULED_RUN_LOCK
from fulfil.webhooks import signing
from fulfil.webhooks.outbox import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[1]
BATCH_INTERVAL_S = 10.0
DRAIN_DEADLINE_S = 120.0
START_DEADLINE_S = 120.0
# The cluster's settings: jobs on at short intervals, leads re-asked every second, partitions adopted after 3 s.
SETTINGS = {
    "FULFIL_ROUTING_BATCH_INTERVAL_SECONDS": str(BATCH_INTERVAL_S), "FULFIL_ROUTING_BATCH_TIME_LIMIT_SECONDS": "5",
    "FULFIL_HOLD_SWEEP_INTERVAL_SECONDS": "1", "FULFIL_PICKUP_SWEEP_INTERVAL_SECONDS": "5", "FULFIL_JOB_LEADER_POLL_SECONDS": "1",
    "FULFIL_INGEST_ADOPT_SECONDS": "3", "FULFIL_LOG_LEVEL": "warning",
    "FULFIL_DATABASE_POOL_SIZE": "10", "FULFIL_DATABASE_MAX_OVERFLOW": "10",
}


@dataclass
class Chaos:
    """What was killed, when (seconds into the run), and how long until another process carried on."""

    events: list[str] = field(default_factory=list)

    def say(self, start: float, line: str) -> None:
        self.events.append(f"{time.monotonic() - start:5.1f} s  {line}")


def lock_holders(engine: Engine, name: str) -> list[int]:
    """The pids whose leadership connection holds the session lock of `name` (application_name fulfil-jobs:<pid>)."""
    query = text("SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                 f"AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = {key_sql('name')}")
    with engine.connect() as conn:
        names = conn.execute(query, {"name": name}).scalars().all()
    return [int(n.rsplit(":", 1)[1]) for n in names if n.startswith(f"{APPLICATION_NAME}:")]


def _wait(condition: Any, deadline_s: float, every: float = 0.2) -> Any:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(every)  # polling a condition against a deadline
    return None


class Cluster:
    """The processes of the cluster configuration; stop() ends them all."""

    def __init__(self, url: str, workers: int, readers_file: Path, broker_url: str, work: Path) -> None:
        self.url, self.readers_file, self.broker_url, self.work = url, readers_file, broker_url, work
        self.env = {**os.environ, **SETTINGS, "FULFIL_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
        self.env.pop("FULFIL_READERS_CONFIG", None)
        self.port = free_port()
        self.serve = subprocess.Popen([sys.executable, "-m", "fulfil.cli", "serve", "--workers", str(workers), "--host", "127.0.0.1",
                                       "--port", str(self.port)], env=self.env, stdout=subprocess.DEVNULL)
        self.starts = 0
        self.ingest = {k: self.start_partition(k) for k in (1, 2)}
        if _wait(lambda: self._up() and all(self.ingesting(k) for k in (1, 2)), START_DEADLINE_S) is None:
            self.stop()
            raise SystemExit("the cluster did not start (API, or an ingest partition not subscribed)")

    def _up(self) -> bool:
        if self.serve.poll() is not None:
            raise SystemExit(f"fulfil serve --workers exited with status {self.serve.returncode}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start_partition(self, k: int) -> subprocess.Popen[bytes]:
        """Start `fulfil ingest --partition k/2`, its output in a file of its own (`ingesting(k)` reads it)."""
        self.starts += 1
        log = self.work / f"ingest-{k}-{self.starts}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "fulfil.cli", "ingest", "--config", str(self.readers_file), "--mqtt-url", self.broker_url,
                                     "--partition", f"{k}/2"], env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.logs = {**getattr(self, "logs", {}), k: log}
        return proc

    def ingesting(self, k: int) -> bool:
        """Whether partition k's latest process said it ingests its own partition (subscribed)."""
        return "ingesting from" in self.logs[k].read_text(errors="replace")

    def stop(self) -> None:
        for proc in (*self.ingest.values(), self.serve):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (*self.ingest.values(), self.serve):
            try:
                proc.wait(90)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def register_receiver(url: str) -> tuple[subprocess.Popen[str], int, str]:
    """A webhook receiver process (benchmarks/webhook_receiver.py) subscribed to every event type; (process, port, ops token)."""
    secret = signing.new_secret()
    receiver = subprocess.Popen([sys.executable, "-m", "benchmarks.webhook_receiver", secret], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert receiver.stdout is not None
    port = int(receiver.stdout.readline())
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as s:
        s.add(WebhookEndpoint(url=f"http://127.0.0.1:{port}/hooks", event_types=list(EVENT_TYPES), secret=secret, description="load test"))
        ops = create_token(s, role=Role.OPS, name="load ops").secret
    engine.dispose()
    return receiver, port, ops


def chaos(cluster: Cluster, engine: Engine, seconds: float, stop: threading.Event) -> Chaos:
    """Kill the batch-routing leader, then an ingest partition, then start it again, at fractions of `seconds`."""
    said = Chaos()
    start = time.monotonic()

    def until(fraction: float) -> bool:
        return not stop.wait(max(0.0, start + fraction * seconds - time.monotonic()))

    if until(0.3):
        # Kill mid-run when a scheduled run is seen in progress within an interval; else kill the leader as it stands.
        mid = _wait(lambda: _lock_taken(engine, SCHEDULED_RUN_LOCK), BATCH_INTERVAL_S + 2, every=0.01)
        leader = lock_holders(engine, "routing-batch")
        if leader:
            os.kill(leader[0], signal.SIGKILL)
            said.say(start, f"SIGKILL the worker leading routing-batch (pid {leader[0]}){' during a scheduled run' if mid else ''}")
            new = _wait(lambda: [p for p in lock_holders(engine, "routing-batch") if p != leader[0]], 60, every=0.05)
            said.say(start, f"routing-batch led by pid {new[0]}" if new else "NO new routing-batch leader within 60 s")
        else:
            said.say(start, "no routing-batch leader seen: nothing killed")
    if until(0.5):
        victim = cluster.ingest[1]
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
        said.say(start, f"SIGKILL ingest partition 1/2 (pid {victim.pid})")
        adopter = cluster.ingest[2].pid
        took = _wait(lambda: lock_holders(engine, lead_name(1, 2)) == [adopter], 60, every=0.05)
        said.say(start, f"partition 1/2 adopted by pid {adopter}" if took else "partition 1/2 NOT adopted within 60 s")
    if until(0.7):
        cluster.ingest[1] = cluster.start_partition(1)
        back = cluster.ingest[1].pid
        took = _wait(lambda: lock_holders(engine, lead_name(1, 2)) == [back], 60, every=0.05)
        said.say(start, f"partition 1/2 started again (pid {back}): {'taken back' if took else 'NOT taken back within 60 s'}")
    return said


def _lock_taken(engine: Engine, name: str) -> bool:
    query = text(f"SELECT count(*) FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = {key_sql('name')}")
    with engine.connect() as conn:
        return bool(conn.execute(query, {"name": name}).scalar())


@dataclass
class Once:
    """The exactly-once checks after the run."""

    new_tags: int = 0
    receipts_missing: int = 0
    receipts_twice: int = 0
    batch_runs: int = 0
    batch_min_gap_s: float = 0.0
    batch_left_running: int = 0
    deliveries: int = 0
    undelivered: int = 0  # deliveries not delivered and events never fanned out, once drained
    unseen_by_receiver: int = 0
    redelivered: int = 0
    holds_expired: int = 0
    holds_overdue: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.new_tags} tags first read during the run: {self.receipts_missing} missing, {self.receipts_twice} received twice; "
                f"{self.batch_runs} scheduled batch runs, closest {self.batch_min_gap_s:.1f} s apart (interval {BATCH_INTERVAL_S:.0f} s), "
                f"{self.batch_left_running} left running; {self.deliveries} webhook deliveries: {self.undelivered} not delivered, "
                f"{self.unseen_by_receiver} unseen by the receiver, {self.redelivered} sent again after a kill (same webhook-id); "
                f"{self.holds_expired} holds expired by the sweep, {self.holds_overdue} still active past expiry")


def _receipts(engine: Engine, epcs: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for i in range(0, len(epcs), 1000):
            rows = conn.execute(text("SELECT epc, count(*) FROM stock_events WHERE cause = 'reader' AND epc = ANY(:epcs) GROUP BY epc"),
                                {"epcs": epcs[i:i + 1000]}).all()
            counts.update({epc: int(n) for epc, n in rows})
    return counts


def drain_and_check(engine: Engine, new_tags: list[str], receiver_port: int) -> Once:
    """Wait (bounded) for the readers' receipts and the webhooks to drain, then check that each happened exactly once."""
    once = Once(new_tags=len(new_tags))
    _wait(lambda: len(_receipts(engine, new_tags)) == len(new_tags), DRAIN_DEADLINE_S, every=0.5)
    counts = _receipts(engine, new_tags)
    once.receipts_missing = len(new_tags) - len(counts)
    once.receipts_twice = sum(1 for n in counts.values() if n > 1)
    factory = make_session_factory(engine)

    def pending() -> int:
        """Deliveries not delivered yet, and events not yet fanned out into deliveries."""
        with factory() as s:
            return int(s.scalar(select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status != DeliveryStatus.DELIVERED)) or 0) + \
                int(s.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.fanned_out_at.is_(None))) or 0)

    _wait(lambda: pending() == 0, DRAIN_DEADLINE_S, every=0.5)
    with factory() as s:
        ids = list(s.scalars(select(WebhookEvent.public_id).join(WebhookDelivery, WebhookDelivery.event_id == WebhookEvent.id)))
        once.deliveries = len(ids)
        once.undelivered = pending()
        runs = sorted(s.scalars(select(RoutingRun.started_at).where(RoutingRun.kind == "batch", RoutingRun.trigger == "schedule", RoutingRun.status == "done")))
        once.batch_left_running = int(s.scalar(select(func.count()).select_from(RoutingRun).where(RoutingRun.status == "running")) or 0)
        once.holds_expired = int(s.scalar(select(func.count()).select_from(StockHold).where(StockHold.status == HoldStatus.EXPIRED)) or 0)
        once.holds_overdue = int(s.scalar(select(func.count()).select_from(StockHold).where(
            StockHold.status == HoldStatus.ACTIVE, StockHold.expires_at < utcnow() - timedelta(seconds=30))) or 0)
    once.batch_runs = len(runs)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(runs)]
    once.batch_min_gap_s = min(gaps) if gaps else 0.0
    seen = json.loads(httpx.get(f"http://127.0.0.1:{receiver_port}/stats", timeout=10).text)
    arrivals = seen["arrivals"]
    once.unseen_by_receiver = sum(1 for i in ids if i not in arrivals)
    once.redelivered = seen["requests"] - len(arrivals)
    if once.receipts_missing or once.receipts_twice:
        once.problems.append("receipts not exactly once")
    if gaps and once.batch_min_gap_s < BATCH_INTERVAL_S - 0.5:
        once.problems.append("two scheduled batch runs in one interval")
    if once.batch_left_running:
        once.problems.append("a batch run left running")
    if once.undelivered or once.unseen_by_receiver:
        once.problems.append("webhook deliveries lost")
    if once.holds_overdue:
        once.problems.append("holds not expired")
    if seen["bad"]:
        once.problems.append(f"{seen['bad']} webhook signatures refused")
    return once

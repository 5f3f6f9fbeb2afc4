"""Real `fulfil serve` processes on one database, for the tests of background jobs across processes (issue 16):
start several, read what each says it leads (/healthz), ask PostgreSQL who holds each job's lock, wait on
conditions with deadlines."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text

from fulfil.leadership import APPLICATION_NAME, key_sql
from tests.waiting import wait_for
from tests.service.test_cli import FULFIL, free_port

JOBS = ("routing-batch", "pickup-sweep", "hold-sweep")
# Several interpreters importing the service at once on 2 shared cores (a CPU hog beside) take a while.
START_DEADLINE_S = 120.0
STOP_DEADLINE_S = 60.0
REPO = Path(__file__).resolve().parents[2]


def cluster_env(url: str, **settings: str) -> dict[str, str]:
    """The environment of the cluster's processes: fast polls and sweeps, small pools, short webhook leases, quiet."""
    env = {k: v for k, v in os.environ.items() if k not in ("FULFIL_READERS_CONFIG", "FULFIL_MQTT_URL")}
    env.update({
        "FULFIL_DATABASE_URL": url, "PYTHONPATH": str(REPO), "FULFIL_JOB_LEADER_POLL_SECONDS": "0.3",
        "FULFIL_HOLD_SWEEP_INTERVAL_SECONDS": "0.3", "FULFIL_PICKUP_SWEEP_INTERVAL_SECONDS": "1", "FULFIL_ROUTING_BATCH_INTERVAL_SECONDS": "600",
        "FULFIL_DATABASE_POOL_SIZE": "3", "FULFIL_DATABASE_MAX_OVERFLOW": "4", "FULFIL_WEBHOOK_TIMEOUT_SECONDS": "1",
        "FULFIL_WEBHOOK_LEASE_SECONDS": "4", "FULFIL_WEBHOOK_DISPATCH_INTERVAL_SECONDS": "0.1", "FULFIL_LOG_LEVEL": "warning",
    })
    env.update(settings)
    return env


@dataclass
class Server:
    """One `fulfil serve` process (or a supervisor of workers) and where it answers."""

    proc: subprocess.Popen[str]
    base: str
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def health(self) -> dict[str, Any] | None:
        """What /healthz says (None when it does not answer)."""
        try:
            answer = httpx.get(f"{self.base}/healthz", timeout=5)
        except httpx.TransportError:
            return None
        return answer.json() if answer.status_code == 200 else None

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start(env: dict[str, str], log: Path, *extra: str) -> Server:
    """Start `fulfil serve` on a free port (not waiting for it)."""
    port = free_port()
    out = log.open("w")
    proc = subprocess.Popen([*FULFIL, "serve", "--port", str(port), *extra], env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    out.close()
    return Server(proc, f"http://127.0.0.1:{port}", log)


@contextmanager
def cluster(env: dict[str, str], count: int, logs: Path) -> Iterator[list[Server]]:
    """`count` serve processes on one database, each answering; SIGTERM (graceful) to those alive at the end."""
    servers = [start(env, logs / f"server-{i}.log") for i in range(count)]
    try:
        for server in servers:
            wait_for(lambda s=server: s.health() or (None if s.alive() else _died(s)), f"{server.base} answers", START_DEADLINE_S)
        yield servers
    finally:
        for server in servers:
            if server.alive():
                server.proc.terminate()
        for server in servers:
            try:
                server.proc.wait(timeout=STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait()


def _died(server: Server) -> None:
    raise AssertionError(f"{server.base} exited with {server.proc.returncode}:\n{server.output()}")


def leaders(servers: list[Server]) -> dict[str, list[int]] | None:
    """Per job, the pids of the live servers that say they lead it; None when one of them does not answer."""
    out: dict[str, list[int]] = {job: [] for job in JOBS}
    for server in servers:
        if not server.alive():
            continue
        health = server.health()
        if health is None:
            return None
        for job in JOBS:
            assert health["jobs"][job] in ("leader", "standby"), health
            if health["jobs"][job] == "leader":
                out[job].append(health["pid"])
    return out


def one_leader_each(servers: list[Server]) -> dict[str, int] | None:
    """Each job's one leader among the live servers, when every job has exactly one (else None)."""
    led = leaders(servers)
    if led is None or any(len(pids) != 1 for pids in led.values()):
        return None
    return {job: pids[0] for job, pids in led.items()}


def lock_holders(engine: Engine, job: str) -> list[int]:
    """The pids of the processes whose lock connection holds `job`'s advisory lock, as PostgreSQL sees it."""
    query = text(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
        f"AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = {key_sql('job')}"
    )
    with engine.connect() as conn:
        names = conn.execute(query, {"job": job}).scalars().all()
    return [int(name.rsplit(":", 1)[1]) for name in names if name.startswith(f"{APPLICATION_NAME}:")]


def lock_held(engine: Engine, name: str) -> bool:
    """Whether anyone holds the advisory lock of `name` now (a transaction-level one included)."""
    query = text(
        "SELECT count(*) FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted "
        f"AND ((l.classid::bigint << 32) | l.objid::bigint) = {key_sql('name')}"
    )
    with engine.connect() as conn:
        return bool(conn.execute(query, {"name": name}).scalar())


def worker_pids(pid: int) -> list[int]:
    """Live worker processes of a supervisor (the multiprocessing resource tracker is not one)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"spawn_main" in cmdline and stat.rsplit(")", 1)[1].split()[0] != "Z":
            out.append(int(entry.name))
    return sorted(out)


def one_lock_each(engine: Engine, supervisor: Server, count: int) -> dict[str, int] | None:
    """Each job's lock holder, when `count` workers run and each job's lock is held by exactly one of them."""
    workers = worker_pids(supervisor.pid)
    if len(workers) != count:
        return None
    holders = {job: lock_holders(engine, job) for job in JOBS}
    if any(len(pids) != 1 or pids[0] not in workers for pids in holders.values()):
        return None
    return {job: pids[0] for job, pids in holders.items()}

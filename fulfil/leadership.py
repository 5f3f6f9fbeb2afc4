"""Which process leads each singleton background job (batch routing, the hold and pickup sweeps): one per cluster.

- PostgreSQL: one session-level advisory lock per job (`pg_try_advisory_lock`), all held on one connection of their
  own, opened outside the pool in autocommit (it never sits in a transaction). A process that dies loses that
  connection and the server drops its locks at once; a standby takes a free lock at its next poll
  (`FULFIL_JOB_LEADER_POLL_SECONDS`). The leader pings the connection at every poll: when the ping fails it stops
  leading every job at once, then tries again on a new connection. The lock's key is derived from the database, the
  schema and the job's name, so two deployments (or test runs) on one server never share a lock.
- SQLite: one process leads every job: an exclusive `flock` on a file beside the database (`<file>-jobs.lock`),
  released by the kernel when the process ends. An in-memory database has one process by nature: it always leads.

Leadership makes a job run in one process; it is not what keeps it correct. Two processes may both believe they
lead for a moment (a leader cut off from the network until its connection is found dead): each job's unit of work is
transactional and idempotent on its own (an expiry is one conditional UPDATE; a scheduled batch run re-checks in its
transaction, under a transaction-level advisory lock, that no other run of its interval committed)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# libpq keepalives on the lock connection: a dead network path is found within about 25 s on this side.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3, "connect_timeout": 10}
APPLICATION_NAME = "fulfil-jobs"  # the lock connection's application_name is "fulfil-jobs:<pid>" (pg_stat_activity)


class Leadership(Protocol):
    """Who leads what, from this process's side."""

    def hold(self, job: str) -> bool:
        """True when this process leads `job` now: takes the lead when it is free, checks it is still held otherwise."""
        ...

    def leads(self, job: str) -> bool:
        """Whether this process led `job` at its last check (no query)."""
        ...

    def release(self, job: str) -> None:
        """Give up the lead of `job` alone (no-op when not held)."""
        ...

    def close(self) -> None:
        """Give up every lead (another process takes them at its next poll)."""
        ...


def key_sql(name: str) -> str:
    """SQL for the advisory lock key of `name` (a bound parameter's name): a 64-bit hash of the database, the schema
    and the job's name, computed by the server (tests and operators compute it the same way)."""
    return f"hashtextextended('fulfil:' || current_database() || ':' || coalesce(current_schema(), '') || ':' || :{name}, 0)"


_TRY_LOCK = text(f"SELECT pg_try_advisory_lock({key_sql('job')})")
_UNLOCK = text(f"SELECT pg_advisory_unlock({key_sql('job')})")


class PostgresLeadership:
    """Session-level advisory locks on a connection of their own."""

    def __init__(self, url: URL) -> None:
        self._engine = create_engine(
            url, poolclass=NullPool, connect_args={**KEEPALIVES, "application_name": f"{APPLICATION_NAME}:{os.getpid()}"},
        )
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._held: set[str] = set()
        self._closed = False

    def hold(self, job: str) -> bool:
        with self._lock:
            if self._closed:
                return False
            try:
                conn = self._connection()
                if job in self._held:
                    conn.exec_driver_sql("SELECT 1")  # the connection is up, so the lock is still ours
                    return True
                if conn.execute(_TRY_LOCK, {"job": job}).scalar():
                    self._held.add(job)
                    log.info("this process (pid %d) now leads %s", os.getpid(), job)
                    return True
                return False
            except DBAPIError as exc:
                self._lost(exc)
                return False

    def leads(self, job: str) -> bool:
        with self._lock:
            return job in self._held

    def release(self, job: str) -> None:
        with self._lock:
            if job not in self._held or self._conn is None:
                return
            self._held.discard(job)
            try:
                self._conn.execute(_UNLOCK, {"job": job})
            except DBAPIError as exc:  # the connection is gone, and the server dropped the lock with it
                self._lost(exc)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()  # the server releases the session's locks
                self._conn = None
            self._held.clear()
        self._engine.dispose()

    def _connection(self) -> Connection:
        if self._conn is None:
            self._held.clear()
            self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    def _lost(self, exc: Exception) -> None:
        if self._held:
            log.warning("lost the lead of %s: the lock connection failed (%s)", ", ".join(sorted(self._held)), exc)
        self._held.clear()
        if self._conn is not None:
            with contextlib.suppress(DBAPIError):  # already gone
                self._conn.invalidate()
                self._conn.close()
            self._conn = None


class FileLeadership:
    """One process leads every job: an exclusive flock on a file (SQLite's single-process rule)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._closed = False

    def hold(self, job: str) -> bool:
        with self._lock:
            if self._closed:
                return False
            if self._fd is None:
                fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    return False
                self._fd = fd
                log.info("this process (pid %d) now leads the background jobs of %s", os.getpid(), self._path)
            return True

    def leads(self, job: str) -> bool:
        with self._lock:
            return self._fd is not None

    def release(self, job: str) -> None:
        pass  # one lock for every job: released by close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._fd is not None:
                os.close(self._fd)  # closing the file releases the lock
                self._fd = None


class AlwaysLeads:
    """An in-memory database: this process is the only one."""

    def hold(self, job: str) -> bool:
        return True

    def leads(self, job: str) -> bool:
        return True

    def release(self, job: str) -> None:
        pass

    def close(self) -> None:
        pass


class NamedFileLocks:
    """A lock per name (SQLite): an exclusive flock on `<base>-<name>.lock`, for leads that must be spread over processes
    of one host (ingest partitions), where FileLeadership's one lock gives every job to one process."""

    def __init__(self, base: Path) -> None:
        self._base = base
        self._lock = threading.Lock()
        self._fds: dict[str, int] = {}
        self._closed = False

    def _path(self, job: str) -> Path:
        return Path(f"{self._base}-{''.join(c if c.isalnum() or c in '-_' else '_' for c in job)}.lock")

    def hold(self, job: str) -> bool:
        with self._lock:
            if self._closed:
                return False
            if job in self._fds:
                return True
            fd = os.open(self._path(job), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._fds[job] = fd
            return True

    def leads(self, job: str) -> bool:
        with self._lock:
            return job in self._fds

    def release(self, job: str) -> None:
        with self._lock:
            fd = self._fds.pop(job, None)
            if fd is not None:
                os.close(fd)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()


def for_engine(engine: Engine, *, spread: bool = False) -> Leadership:
    """The leadership that fits the engine's database. `spread`: on SQLite a lock file per job (leads spread over the
    processes of the host, as ingest partitions are) instead of one process leading every job."""
    if engine.dialect.name == "postgresql":
        return PostgresLeadership(engine.url)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:" and not database.startswith("file::memory:"):
        return NamedFileLocks(Path(f"{database}-leads")) if spread else FileLeadership(Path(f"{database}-jobs.lock"))
    return AlwaysLeads()

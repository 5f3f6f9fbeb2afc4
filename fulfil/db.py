"""Engine and session factory; commits happen only at the edge (request, CLI command, ingest unit of work)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from fulfil.config import DEFAULT_MAX_OVERFLOW, DEFAULT_POOL_SIZE, Settings

# Execution option of a long read-only transaction (fulfil.db.snapshot_session): on SQLite it begins DEFERRED instead
# of IMMEDIATE, so it does not hold the write lock while it reads (in WAL mode it reads one snapshot, writers go on).
READ_SNAPSHOT = "fulfil_read_snapshot"

# How long a SQLite writer waits for the lock before giving up (ms): long enough
# for a burst of concurrent requests, short enough to surface real deadlocks.
SQLITE_BUSY_TIMEOUT_MS = 15_000

# A PostgreSQL connection idle in the pool this long is pinged before use (fulfil.db._ping_idle_connections).
PING_AFTER_IDLE_SECONDS = 5.0


def normalise_url(url: str) -> str:
    """Route plain postgresql:// URLs through psycopg 3, the driver we ship."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(url: str) -> bool:
    """True when the URL names a SQLite database."""
    return make_url(normalise_url(url)).get_backend_name() == "sqlite"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin, so that
        # BEGIN IMMEDIATE below takes the write lock before any read.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE: writers serialise at BEGIN instead of failing with
        # "database is locked" when a read transaction tries to upgrade.
        # A snapshot read (READ_SNAPSHOT) never writes: it takes no lock.
        connection.exec_driver_sql("BEGIN" if connection.get_execution_options().get(READ_SNAPSHOT) else "BEGIN IMMEDIATE")


def make_engine(url: str, *, echo: bool = False, pool_size: int = DEFAULT_POOL_SIZE, max_overflow: int = DEFAULT_MAX_OVERFLOW) -> Engine:
    """Create the engine for `url`: SQLite in WAL mode with foreign keys on, or PostgreSQL via psycopg 3 with a pool of
    `pool_size` connections and up to `max_overflow` more (Settings.database_pool_size, database_max_overflow)."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=max_overflow)
    _ping_idle_connections(engine)
    return engine


def engine_for(settings: Settings) -> Engine:
    """The engine of a long-running process (serve, ingest, dispatch): URL, echo and pool sizes from the settings."""
    return make_engine(settings.database_url, echo=settings.database_echo, pool_size=settings.database_pool_size,
                       max_overflow=settings.database_max_overflow)


def _ping_idle_connections(engine: Engine) -> None:
    """Pessimistic disconnect handling for idle connections only: one that sat in the pool PING_AFTER_IDLE_SECONDS or
    more (a database restart, a firewall dropping idle connections) is pinged when checked out, and replaced if dead.
    SQLAlchemy's pool_pre_ping pings on every checkout: a round trip more per request, two with the request edge's
    token lookup. A connection in steady use that the server dropped fails its statement once; SQLAlchemy then
    invalidates the whole pool, so the next checkouts reconnect."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return  # just connected, or back from a request moments ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as err:
            raise exc.DisconnectionError(f"connection idle for {time.monotonic() - returned:.0f} s is gone: {err}") from err


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that never expire on commit (responses are built after the commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def snapshot_session(factory: sessionmaker[Session]) -> Session:
    """A session whose transaction reads one consistent snapshot and writes nothing (a long export such as the local
    inventory feed): REPEATABLE READ, READ ONLY on PostgreSQL; a deferred transaction on SQLite, which in WAL mode
    reads one snapshot without blocking writers. A factory bound to a connection (tests) is used as it is."""
    session = factory()
    bind = factory.kw.get("bind")
    if isinstance(bind, Engine):
        if bind.dialect.name == "sqlite":
            session.connection(execution_options={READ_SNAPSHOT: True})
        else:
            session.connection(execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True})
    return session


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit when the block succeeds, roll back when it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

"""The connection budget: how many PostgreSQL connections one Fulfil process may open, and the check `fulfil serve`
makes at start that its processes fit in the server's `max_connections` (docs/deployment.md, "Connection budget").

One process opens at most `database_pool_size + database_max_overflow` connections through its pool, plus two of its
own: the job leadership's locks (fulfil.leadership) and the live streams' LISTEN (fulfil.live.notify). `fulfil serve --workers N` is N such processes (its supervisor keeps
no connection). The server accepts `max_connections - superuser_reserved_connections - reserved_connections` from
ordinary roles."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from fulfil.config import Settings
from fulfil.db import is_sqlite, make_engine
from fulfil.errors import BadRequest

OWN_CONNECTIONS = 2  # the job leadership's and the live streams' LISTEN connection

_SERVER = text(
    "SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int, "
    "coalesce(current_setting('reserved_connections', true), '0')::int, "
    "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid())"
)


def per_process(settings: Settings) -> int:
    """The most connections one process opens."""
    return settings.database_pool_size + settings.database_max_overflow + OWN_CONNECTIONS


@dataclass(frozen=True)
class Budget:
    """N processes against what the server allows."""

    processes: int
    per_process: int
    max_connections: int
    reserved: int
    in_use: int  # connections other clients hold now

    @property
    def needed(self) -> int:
        return self.processes * self.per_process

    @property
    def available(self) -> int:
        return self.max_connections - self.reserved

    def arithmetic(self, settings: Settings) -> str:
        return (f"{self.processes} process(es) x ({settings.database_pool_size} pool + {settings.database_max_overflow} overflow + "
                f"{OWN_CONNECTIONS} own) = {self.needed} connections; PostgreSQL accepts {self.available} "
                f"(max_connections {self.max_connections} - {self.reserved} reserved)")


def read(settings: Settings, processes: int) -> Budget:
    """The server's limits and the connections open now, for `processes` processes of these settings."""
    engine = make_engine(settings.database_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            max_connections, superuser, reserved, in_use = conn.execute(_SERVER).one()
    finally:
        engine.dispose()
    return Budget(processes, per_process(settings), int(max_connections), int(superuser) + int(reserved), int(in_use))


def check(settings: Settings, processes: int) -> str | None:
    """On PostgreSQL: BadRequest when `processes` processes could open more connections than the server accepts; a
    warning (returned) when they fit alone but not beside the connections other clients hold now. None on SQLite."""
    if is_sqlite(settings.database_url):
        return None
    try:
        budget = read(settings, processes)
    except DBAPIError as exc:  # the service starts without its database (/readyz says so): nothing to check now
        return f"warning: the connection budget could not be checked, the database did not answer ({type(exc.orig).__name__})"
    fix = "lower FULFIL_DATABASE_POOL_SIZE / FULFIL_DATABASE_MAX_OVERFLOW, run fewer workers, or raise max_connections"
    if budget.needed > budget.available:
        raise BadRequest(f"connection budget exceeded: {budget.arithmetic(settings)}: {fix}")
    if budget.needed + budget.in_use > budget.available:
        return (f"warning: {budget.arithmetic(settings)}, and other clients hold {budget.in_use} now: under load the "
                f"server may refuse connections ({fix})")
    return None

"""PostgreSQL connections the server dropped while they sat in the pool (a restart, a firewall) are replaced before
use; connections in steady use are not pinged on every checkout (fulfil.db._ping_idle_connections)."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, text

from fulfil import db


def _kill(url: str, pid: int) -> None:
    admin = db.make_engine(url)
    try:
        with admin.begin() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
            # Wait (with a deadline) until the server has really closed it.
            conn.execute(text(
                "DO $$ DECLARE n int := 0; BEGIN WHILE n < 500 AND EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = " + str(pid) + ")"
                " LOOP PERFORM pg_sleep(0.01); n := n + 1; END LOOP; END $$"
            ))
    finally:
        admin.dispose()


def test_a_connection_dropped_while_idle_is_replaced_before_use(fresh_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not fresh_database_url.startswith("postgresql"):
        # SQLite has no server to drop a connection; the PostgreSQL run of the suite covers this.
        assert db.make_engine(fresh_database_url).dialect.name == "sqlite"
        return
    engine = db.make_engine(fresh_database_url)
    try:
        with engine.connect() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        _kill(fresh_database_url, first)
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # every connection counts as idle: pinged, found dead, replaced
        with engine.connect() as conn:
            second = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert second != first

        # Without the ping the dead connection is handed out and its first statement fails: what the ping prevents.
        _kill(fresh_database_url, second)
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 1e9)
        with pytest.raises(exc.OperationalError), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        with engine.connect() as conn:  # the failure invalidated the pool: the next checkout connects afresh
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()

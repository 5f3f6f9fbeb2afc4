"""Job leadership on the suite's database (fulfil.leadership): one holder per job, handed over when it closes, and
on PostgreSQL given up at once when its lock connection dies (what a leader cut off from the database does)."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine, text

from fulfil.leadership import FileLeadership, NamedFileLocks, PostgresLeadership, for_engine, key_sql
from tests.waiting import wait_for


def test_a_job_has_one_leader_until_it_gives_the_lead_up(engine: Engine) -> None:
    job = f"test-{uuid.uuid4().hex[:8]}"
    first, second = for_engine(engine), for_engine(engine)
    assert isinstance(first, PostgresLeadership if engine.dialect.name == "postgresql" else FileLeadership)
    try:
        assert first.hold(job) and first.leads(job)
        assert not second.hold(job) and not second.leads(job)
        assert first.hold(job)  # still its own at the next poll
        first.close()
        assert not first.leads(job) and not first.hold(job)  # closed for good
        wait_for(lambda: second.hold(job), "the other takes the lead", 10)
        assert second.leads(job)
    finally:
        first.close()
        second.close()


def test_a_leader_whose_lock_connection_dies_stops_leading_and_another_takes_over(engine: Engine) -> None:
    job = f"test-{uuid.uuid4().hex[:8]}"
    first, second = for_engine(engine), for_engine(engine)
    try:
        assert first.hold(job) and not second.hold(job)
        if engine.dialect.name == "postgresql":
            # The server ends the leader's lock connection (as when the network path to it dies): its locks go.
            with engine.begin() as conn:
                ended = conn.execute(text(
                    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted "
                    f"AND ((l.classid::bigint << 32) | l.objid::bigint) = {key_sql('job')}"), {"job": job}).scalars().all()
            assert ended == [True]
            wait_for(lambda: second.hold(job), "the other takes the lead", 10)
            assert not first.hold(job) and not first.leads(job)  # its ping failed: it leads nothing now
            second.close()
            wait_for(lambda: first.hold(job), "the first leads again on a new connection", 10)
        else:  # SQLite: one process leads every job, by the file lock
            assert not second.hold(f"{job}-other")
    finally:
        first.close()
        second.close()


def test_spread_leads_are_one_per_name_and_each_can_be_given_up_alone(engine: Engine) -> None:
    """Ingest partitions' locks (for_engine(spread=True)): leads spread over processes, one holder per name, released one
    at a time (a partition handed back) while the others stay held."""
    first, second = for_engine(engine, spread=True), for_engine(engine, spread=True)
    one, two = (f"test-{uuid.uuid4().hex[:8]}:{k}/2" for k in (1, 2))
    assert isinstance(first, PostgresLeadership if engine.dialect.name == "postgresql" else NamedFileLocks)
    try:
        assert first.hold(one) and second.hold(two)  # two names, two processes (one SQLite file lock each)
        assert not second.hold(one) and not first.hold(two)
        first.release(one)
        assert not first.leads(one) and second.hold(one)
        assert first.hold(f"{one}-again") and not second.hold(f"{one}-again")
        first.release(two)  # not held: nothing happens
        assert not first.hold(two) and second.leads(two)
    finally:
        first.close()
        second.close()

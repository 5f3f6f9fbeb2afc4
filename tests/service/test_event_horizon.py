"""Readers never move a cursor past an event still to come (fulfil.horizon): on PostgreSQL a transaction that drew a
smaller id and commits after one with a larger id is still sent, by the live stream and by `GET /stock/events`.

The scene, each time: transaction A writes a stock event (id a) and stays open; transaction B writes one (id b > a)
and commits; a reader reads; A commits. On SQLite one transaction writes at a time (BEGIN IMMEDIATE): B waits for A,
ids commit in order, and the same reader must simply see both."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from fulfil.app import create_app
from fulfil.auth.service import create_token
from fulfil.db import make_engine, make_session_factory, unit_of_work
from fulfil.horizon import Horizon
from fulfil.live import repository
from fulfil.models import Location, LocationKind, Product, Role, StockCause, StockEvent
from fulfil.stock import service as stock
from fulfil.telemetry.metrics import REGISTRY
from tests.factories import delete_location, make_gtin, quiet_settings
from tests.sse import sse_events
from tests.waiting import wait_for

CAUSE = stock.Cause(StockCause.MANUAL, actor="horizon test", reason="count")


@dataclass
class World:
    engine: Engine  # the app's
    observer: Engine  # the test's own, to look at the app's connections
    factory: sessionmaker[Session]
    store: str
    gtins: list[str]
    ops: dict[str, str]
    app_name: str
    opened: list[Any] = field(default_factory=list)

    def adjust(self, session: Session, gtin: str, delta: int) -> int:
        """Move stock and return the id of the event written (flushed, not committed)."""
        stock.adjust(session, self.store, gtin, CAUSE, delta=delta)
        session.flush()
        return int(session.scalar(select(StockEvent.id).where(StockEvent.location_id == self.store, StockEvent.gtin == gtin).order_by(StockEvent.id.desc()).limit(1)))

    def open_writer(self, gtin: str, delta: int) -> tuple[Session, int]:
        """Transaction A: an event written, the transaction left open (the caller commits it)."""
        session = self.factory()
        self.opened.append(session)
        return session, self.adjust(session, gtin, delta)

    def committed(self, gtin: str, delta: int, work_s: float = 0.0) -> int:
        """Transaction B: an event written and committed, after `work_s` more seconds of work on PostgreSQL."""
        with unit_of_work(self.factory) as session:
            event = self.adjust(session, gtin, delta)
            if work_s and session.get_bind().dialect.name == "postgresql":
                session.execute(text("SELECT pg_sleep(:s)"), {"s": work_s})  # the rest of a slower transaction's work
            return event

    def readers_waiting(self) -> bool:
        """The app's reader is checking the writers in flight (its connection last asked pg_locks)."""
        with self.observer.connect() as conn:
            return bool(conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name AND query LIKE '%pg_locks%' "
                                          "AND pid <> pg_backend_pid()"),
                                     {"name": self.app_name}).scalar())


@pytest.fixture()
def world(engine: Engine, database_url: str) -> Iterator[World]:
    factory = make_session_factory(engine)
    store, gtins = f"HZ-{uuid.uuid4().hex[:8]}", [make_gtin(), make_gtin()]
    with unit_of_work(factory) as s:
        s.add(Location(id=store, name="horizon store", kind=LocationKind.STORE, lat=48.85, lon=2.35, capacity_per_day=None))
        for gtin in gtins:
            s.add(Product(gtin=gtin, name="horizon", company_prefix_length=7))
    with unit_of_work(factory) as s:
        for gtin in gtins:
            stock.adjust(s, store, gtin, CAUSE, delta=10)
        ops = {"Authorization": f"Bearer {create_token(s, role=Role.OPS, name=f'hz-{store}').secret}"}
    app_name = f"hz-{uuid.uuid4().hex[:8]}"
    url = engine.url.render_as_string(hide_password=False)
    # The app on an engine of its own whose connections say who they are (pg_stat_activity), as a second process would.
    app_engine = make_engine(url + ("&" if "?" in url else "?") + f"application_name={app_name}") if engine.dialect.name == "postgresql" else engine
    w = World(app_engine, engine, factory, store, gtins, ops, app_name)
    try:
        yield w
    finally:
        for session in w.opened:
            session.rollback()
            session.close()
        if app_engine is not engine:
            app_engine.dispose()
        with unit_of_work(factory) as s:
            delete_location(s, store)


def _client(world: World) -> TestClient:
    return TestClient(create_app(quiet_settings(str(world.engine.url)), engine=world.engine))


def _last(world: World) -> int:
    with world.factory() as s:
        return int(s.scalar(select(StockEvent.id).where(StockEvent.location_id == world.store).order_by(StockEvent.id.desc()).limit(1)))


def test_a_poll_between_two_commits_holds_back_what_a_smaller_id_may_still_precede(world: World, dialect: str) -> None:
    before = _last(world)
    horizon = Horizon()
    with world.factory() as reader:
        horizon.settle(reader)
    if dialect == "postgresql":
        a_session, a = world.open_writer(world.gtins[0], 1)
        b = world.committed(world.gtins[1], 1)
        assert a < b
        with world.factory() as reader:
            limits = horizon.check(reader)
            seen = [e.id for e in repository.stock_after(reader, world.store, before, 100, limits["stock_events"])]
        assert b not in seen, "b was read while a, drawn before it, could still commit"
        a_session.commit()
    else:
        a = world.committed(world.gtins[0], 1)
        b = world.committed(world.gtins[1], 1)
    with world.factory() as reader:
        limits = horizon.check(reader)
        seen = [e.id for e in repository.stock_after(reader, world.store, before, 100, limits["stock_events"])]
    assert seen == [a, b]


def _stream(client: TestClient, url: str, headers: dict[str, str], out: list[dict[str, Any]]) -> None:
    with client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        out.extend(sse_events(response.iter_lines()))


def _while_a_is_open(world: World, dialect: str, read: Callable[[], None]) -> tuple[int, int]:
    """A written and open, B committed, `read` started in a thread; A committed once the reader is seen waiting."""
    if dialect != "postgresql":
        a, b = world.committed(world.gtins[0], 2), world.committed(world.gtins[1], 2)
        read()
        return a, b
    a_session, a = world.open_writer(world.gtins[0], 2)
    b = world.committed(world.gtins[1], 2)
    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    try:
        wait_for(world.readers_waiting, "the reader checking the transactions in flight")
    finally:
        a_session.commit()
    thread.join(30)
    assert not thread.is_alive()
    return a, b


def test_the_live_stream_sends_an_event_committed_after_a_larger_id(world: World, dialect: str) -> None:
    before = _last(world)
    events: list[dict[str, Any]] = []
    with _client(world) as client:
        url = f"/api/v1/locations/{world.store}/stream?max_events=2&max_seconds=20"
        a, b = _while_a_is_open(world, dialect, lambda: _stream(client, url, {**world.ops, "Last-Event-ID": f"{before}.0.0.0"}, events))
    assert [e["data"]["id"] for e in events] == [a, b]


def test_polling_stock_events_after_an_id_never_skips_a_late_commit(world: World, dialect: str) -> None:
    before = _last(world)
    answers: list[Any] = []
    with _client(world) as client:
        params = {"location_id": world.store, "after_id": before}
        a, b = _while_a_is_open(world, dialect, lambda: answers.append(client.get("/api/v1/stock/events", params=params, headers=world.ops)))
    assert answers[0].status_code == 200
    assert [e["id"] for e in answers[0].json()] == [a, b]


def test_a_transaction_left_open_is_waited_for_a_bounded_time_then_counted_and_passed(world: World, dialect: str) -> None:
    """A session idle in a transaction after writing an event must not hold every reader back for ever."""
    before = _last(world)
    given_up = REGISTRY.get_sample_value("fulfil_event_reader_unwaited_total", {"table": "stock_events"}) or 0.0
    if dialect == "postgresql":
        idle, a = world.open_writer(world.gtins[0], 1)
    b = world.committed(world.gtins[1], 1)
    horizon = Horizon(linger_s=0.5)
    with world.factory() as reader:
        limits = horizon.settle(reader, deadline_s=0.2)  # the idle writer was there first: waited for 0.2 s, then not
        assert [e.id for e in repository.stock_after(reader, world.store, before, 100, limits["stock_events"])] == [b]
    if dialect == "postgresql":
        assert REGISTRY.get_sample_value("fulfil_event_reader_unwaited_total", {"table": "stock_events"}) == given_up + 1
        # Another reader of this process does not wait for it again, and a writer that comes later is waited for.
        again = Horizon()
        with world.factory() as reader:
            assert again.settle(reader, deadline_s=5)["stock_events"] is not None  # at once: nothing to wait for
        late, c = world.open_writer(world.gtins[1], 1)
        with world.factory() as reader:
            held = again.check(reader)["stock_events"]
            assert held is not None and held < c
        late.commit()
        idle.commit()
        with world.factory() as reader:
            limits = horizon.check(reader)
            # a is below the cursor a reader already passed (b): the documented loss; c comes.
            assert [e.id for e in repository.stock_after(reader, world.store, b, 100, limits["stock_events"])] == [c]
        assert a < b


WRITERS = 4
WRITES_EACH = 25


def test_a_resumed_stream_gets_every_event_of_concurrent_writers_exactly_once(world: World, dialect: str) -> None:
    """Writers on connections of their own commit in any order; a client reading ten events at a time and resuming
    by Last-Event-ID ends with every event written, each once."""
    before = _last(world)
    gtins = [make_gtin() for _ in range(WRITERS)]  # a product each: writers do not queue on one stock level's row
    with unit_of_work(world.factory) as s:
        for gtin in gtins:
            s.add(Product(gtin=gtin, name="horizon writer", company_prefix_length=7))
    written: list[int] = []
    failures: list[BaseException] = []

    def writer(gtin: str) -> None:
        try:
            rng = random.Random(gtin)
            for i in range(WRITES_EACH):
                # Transactions of uneven length: ids drawn in one order commit in another.
                written.append(world.committed(gtin, 1 if i % 3 else 2, work_s=rng.uniform(0, 0.05)))
        except BaseException as exc:  # reported below
            failures.append(exc)

    received: list[int] = []
    with _client(world) as client:
        threads = [threading.Thread(target=writer, args=(gtin,), daemon=True) for gtin in gtins]
        for thread in threads:
            thread.start()
        last = f"{before}.0.0.0"

        def read_some() -> bool:
            nonlocal last
            events: list[dict[str, Any]] = []
            _stream(client, f"/api/v1/locations/{world.store}/stream?max_events=10&max_seconds=2", {**world.ops, "Last-Event-ID": last}, events)
            received.extend(e["data"]["id"] for e in events)
            if events:
                last = events[-1]["id"]
            return len(received) >= WRITERS * WRITES_EACH and not any(t.is_alive() for t in threads)

        wait_for(read_some, "every event written, through resumed streams (an id read past is never sent)", 60)
        for thread in threads:
            thread.join(30)
    assert not failures, failures
    assert len(received) == len(set(received)), "an event was sent twice"
    assert sorted(received) == sorted(written)

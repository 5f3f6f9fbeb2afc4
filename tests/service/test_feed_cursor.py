"""The feed's incremental cursor is exact under concurrency: a full feed followed by every incremental feed (`since`
the cursor the previous one handed out) equals the stock as it ends, whatever writers commit, in whatever order, while
the reader reads; a change is never missed (re-sending a row is allowed: rows are states).

These tests commit for real through the engine (the reader's snapshot and the writers' transactions are separate
connections), on uniquely named locations and products removed afterwards."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from fulfil.app import create_app
from fulfil.auth.service import create_token
from fulfil.config import Settings
from fulfil.db import make_session_factory, snapshot_session, unit_of_work
from fulfil.errors import Conflict
from fulfil.feeds import service as feeds
from fulfil.feeds.schemas import LocalInventoryFeed
from fulfil.models import ApiToken, Location, LocationKind, Product, Role, StockCause, StockEvent, StockLevel
from fulfil.stock import service as stock
from fulfil.stock.rules import available
from tests.conftest import assert_stock_consistent
from tests.factories import make_gtin, quiet_settings

URL = "/api/v1/feeds/local-inventory"
CAUSE = stock.Cause(StockCause.MANUAL, actor="feed-test", reason="count")
Key = tuple[str, str]  # (store, GTIN)


@dataclass
class World:
    """Committed locations and products of one test, its app client and an ops token."""

    factory: sessionmaker[Session]
    settings: Settings
    client: TestClient
    headers: dict[str, str]
    stores: list[str]
    warehouse: str
    gtins: list[str]
    mine: set[str] = field(default_factory=set)

    def feed(self, since: str | None = None) -> LocalInventoryFeed:
        answer = self.client.get(URL, headers=self.headers, params={"since": since} if since else None)
        assert answer.status_code == 200, answer.text
        body = LocalInventoryFeed.model_validate(answer.json())
        assert body.count == len(body.rows) and answer.headers["fulfil-feed-cursor"] == body.cursor
        return body

    def feed_in_process(self, since: str | None = None) -> LocalInventoryFeed:
        """The feed the route would stream, read through the service (no request: on SQLite a request's token check
        waits for the write lock, and this reader must run while a writer holds it)."""
        with snapshot_session(self.factory) as s:
            start = feeds.start(s, self.settings, since)
        with snapshot_session(self.factory) as s:
            rows = [dict(r._asdict(), availability=r.availability, pickup_SLA=r.pickup_sla) for r in feeds.rows(s, self.settings, start.since)]
        return LocalInventoryFeed.model_validate({"cursor": str(start.cursor), "since": since, "rows": rows, "count": len(rows)})

    def rows(self, body: LocalInventoryFeed) -> dict[Key, tuple[Any, ...]]:
        """The rows of this world's stores."""
        return {(r.store_code, r.id): (r.quantity, r.availability, r.pickup_method, r.pickup_SLA) for r in body.rows if r.store_code in self.mine}

    def change(self, location: str, gtin: str, *, delta: int = 0, safety: int | None = None, hold_s: float = 0.0) -> None:
        """One stock change in a transaction of its own, committed `hold_s` after it was made."""
        with unit_of_work(self.factory) as s:
            if safety is not None:
                stock.set_safety(s, location, gtin, safety, CAUSE)
            else:
                stock.adjust(s, location, gtin, CAUSE, delta=delta)
            if hold_s:
                time.sleep(hold_s)  # the commit delayed on purpose: the transaction stays open while others go on

    def set_active(self, location: str, active: bool) -> None:
        with unit_of_work(self.factory) as s:
            loc = s.get(Location, location)
            assert loc is not None
            loc.active = active

    def out_of_stock(self, gtin: str) -> set[Key]:
        """The rows of a product at 0 (at active stores of this world)."""
        return {key for key, units in self.levels().items() if key[1] == gtin and units == 0}

    def levels(self) -> dict[Key, int]:
        """Available units per (active store, GTIN) of this world, straight from the stock levels."""
        with Session(self.factory.kw["bind"]) as s:
            active = {loc.id for loc in s.scalars(select(Location).where(Location.id.in_(self.stores), Location.active.is_(True)))}
            rows = s.scalars(select(StockLevel).where(StockLevel.location_id.in_(active), StockLevel.gtin.in_(self.gtins)))
            return {(r.location_id, r.gtin): available(r.on_hand, r.reserved, r.safety) for r in rows}


class Mirror:
    """What a feed consumer (Google) holds: the last full feed, updated row by row by every incremental one."""

    def __init__(self, world: World, read: Callable[[str | None], LocalInventoryFeed] | None = None) -> None:
        self.world = world
        self.read = read or world.feed
        body = self.read(None)
        self.rows = world.rows(body)
        self.cursor = body.cursor
        self.polls = 0

    def poll(self) -> dict[Key, tuple[Any, ...]]:
        body = self.read(self.cursor)
        changed = self.world.rows(body)
        self.rows.update(changed)
        self.cursor = body.cursor
        self.polls += 1
        return changed


def assert_exact(world: World, mirror: Mirror) -> None:
    """The consumer's rows are the full feed's, the full feed's quantities are the stock's; rows of a store that
    closed are withdrawn (out of stock, pickup not supported), not left as they were."""
    mirror.poll()
    full = world.rows(world.feed())
    levels = world.levels()
    assert {key: row[0] for key, row in full.items()} == levels, "the full feed does not match the stock"
    assert not full.keys() - mirror.rows.keys(), "rows the incremental feeds never sent"
    assert {key: mirror.rows[key] for key in full} == full, "full + incrementals differ from a full feed"
    for key in mirror.rows.keys() - full.keys():
        assert mirror.rows[key] == (0, "out of stock", "not supported", None), f"{key} of a closed store still advertised"


@pytest.fixture()
def world(engine: Engine, database_url: str, request: pytest.FixtureRequest) -> Iterator[World]:
    """Six stores around Lyon and Paris, a warehouse, five products, some stock; removed afterwards."""
    factory = make_session_factory(engine)
    tag = uuid.uuid4().hex[:6].upper()
    stores = [f"FEED-{tag}-S{i}" for i in range(6)]
    warehouse = f"FEED-{tag}-DC"
    gtins = [make_gtin(prefix="0999997") for _ in range(5)]
    spots = [(45.76, 4.84), (45.77, 4.89), (45.75, 4.80), (48.86, 2.35), (48.84, 2.30), (48.89, 2.38)]
    with unit_of_work(factory) as s:
        for store, (lat, lon) in zip(stores, spots):
            s.add(Location(id=store, name=store, kind=LocationKind.STORE, lat=lat, lon=lon))
        s.add(Location(id=warehouse, name=warehouse, kind=LocationKind.WAREHOUSE, lat=43.30, lon=5.37, handling_days=1))
        for gtin in gtins:
            s.add(Product(gtin=gtin, name="feed test"))
        secret = create_token(s, role=Role.OPS, name=f"feed-{tag}").secret
    rng = random.Random(tag)
    with unit_of_work(factory) as s:
        for gtin in gtins:
            stock.adjust(s, warehouse, gtin, CAUSE, set_on_hand=rng.randint(0, 3))
            for store in stores[:4]:
                stock.adjust(s, store, gtin, CAUSE, set_on_hand=rng.randint(0, 5))
    settings = quiet_settings(database_url)
    with TestClient(create_app(settings, engine=engine)) as client:
        yield World(factory, settings, client, {"Authorization": f"Bearer {secret}"}, stores, warehouse, gtins, mine=set(stores))
    try:
        with engine.connect() as conn:
            assert_stock_consistent(conn, request)
    finally:
        with unit_of_work(factory) as s:
            places = [*stores, warehouse]
            s.execute(delete(StockEvent).where(StockEvent.location_id.in_(places)))
            s.execute(delete(StockLevel).where(StockLevel.location_id.in_(places)))
            s.execute(delete(ApiToken).where(ApiToken.name == f"feed-{tag}"))
            s.execute(delete(Product).where(Product.gtin.in_(gtins)))
            s.execute(delete(Location).where(Location.id.in_(places)))


def test_an_incremental_feed_sends_what_changed(world: World) -> None:
    s0, _s1, _s2, s3 = world.stores[:4]
    a, b = world.gtins[:2]
    world.change(s0, a, delta=1)  # S0 has some of a: more of it changes its row only (it is a source already)
    mirror = Mirror(world)
    assert mirror.poll() == {}  # nothing happened since
    world.change(s0, a, delta=0)  # a count that confirms the books
    assert mirror.poll() == {}
    world.change(s0, a, delta=7)
    changed = mirror.poll()
    assert set(changed) == {(s0, a)} and changed[(s0, a)][0] == world.levels()[(s0, a)]
    assert mirror.poll() == {}
    # The warehouse runs out of (or gets) b: every store's ship-to-store row of b may change, so all are sent (rows
    # with units are `buy` whatever the sources: not sent).
    with Session(world.factory.kw["bind"]) as s:
        dc = s.get(StockLevel, (world.warehouse, b))
        dc_units = available(dc.on_hand, dc.reserved, dc.safety) if dc else 0
    world.change(world.warehouse, b, delta=-dc_units if dc_units else 4)
    assert set(mirror.poll()) == world.out_of_stock(b)
    # A product first stocked at a store is a new row; a store that closes is withdrawn, and comes back when it opens.
    s4 = world.stores[4]  # stocks nothing yet
    assert mirror.poll() == {}
    empty_before = world.out_of_stock(a)
    world.change(s4, a, delta=2)  # a new row, and a new source of a: out-of-stock rows of a may change (ship to store)
    assert set(mirror.poll()) == {(s4, a)} | empty_before
    world.change(s4, a, delta=1)  # more of what it had: only its own row
    assert set(mirror.poll()) == {(s4, a)}
    world.set_active(s3, False)
    withdrawn = mirror.poll()
    assert {key for key in withdrawn if key[0] == s3} == {(s3, g) for g in world.gtins}
    assert all(withdrawn[(s3, g)] == (0, "out of stock", "not supported", None) for g in world.gtins)
    assert all(key[0] != s3 for key in world.rows(world.feed()))  # the full feed has no rows of a closed store
    world.set_active(s3, True)
    assert {key for key in mirror.poll() if key[0] == s3} == {(s3, g) for g in world.gtins}
    assert_exact(world, mirror)


def test_a_change_committed_after_the_reader_ran_is_in_the_next_incremental(world: World, dialect: str) -> None:
    """The case an `id > last seen` cursor gets wrong on PostgreSQL: a transaction numbered before another commits after
    it, and after the reader took its snapshot. Here A changes S0 and holds its commit; B changes S1 and commits (on
    PostgreSQL while A is open: its number is higher than A's; SQLite serialises writers, so B follows A there); the
    reader runs while A is open; A commits; the next incremental feed must carry A's change."""
    s0, s1 = world.stores[:2]
    a = world.gtins[0]
    mirror = Mirror(world, world.feed_in_process)
    before = world.levels()[(s0, a)]
    a_wrote, a_may_commit = threading.Event(), threading.Event()

    def writer_a() -> None:
        with unit_of_work(world.factory) as s:
            stock.adjust(s, s0, a, CAUSE, delta=5)
            s.flush()
            a_wrote.set()
            assert a_may_commit.wait(30)

    thread = threading.Thread(target=writer_a)
    thread.start()
    try:
        assert a_wrote.wait(30)
        if dialect == "postgresql":
            world.change(s1, a, delta=3)  # B: a later transaction, committed first
        mirror.poll()
        assert mirror.rows[(s0, a)][0] == before  # A's change is not visible yet
    finally:
        a_may_commit.set()
        thread.join(30)
    if dialect != "postgresql":
        world.change(s1, a, delta=3)
    if dialect == "postgresql":
        with Session(world.factory.kw["bind"]) as s:
            numbers = {loc: s.get(StockLevel, (loc, a)).change_seq for loc in (s0, s1)}  # type: ignore[union-attr]
        assert numbers[s0] < numbers[s1]  # A's number is below B's: "above the last number seen" would skip A
    changed = mirror.poll()
    assert (s0, a) in changed and changed[(s0, a)][0] == world.levels()[(s0, a)]
    assert_exact(world, mirror)


WRITERS = 4
CHANGES_PER_WRITER = 25
POLLS_WHILE_WRITING = 10  # writers go on until the reader has polled this often (however slow it is)
MAX_CHANGES_PER_WRITER = 2_000
WAIT_S = 60.0


def test_full_then_incrementals_equal_the_stock_under_racing_writers(world: World, dialect: str) -> None:
    """Writers change stock (adjustments up and down, safety stock, new levels, the warehouse crossing 0) and a store
    closes and opens between the reader's polls, each change in a transaction committed after a random delay, while
    the reader polls `since` as fast as it can; at the end, full + every incremental equals a full feed and the stock,
    row for row.

    On PostgreSQL the reader goes through the route. On SQLite it runs what the route runs (the service in snapshot
    sessions, which take no lock) without the request: a request's token check begins IMMEDIATE, and SQLite does not
    queue lock waiters, so writers that never pause can starve it past its busy timeout (so they can any request)."""
    places = [*world.stores, world.warehouse]
    mirror = Mirror(world, world.feed if dialect == "postgresql" else world.feed_in_process)
    failures: list[BaseException] = []
    done = threading.Event()
    polled = threading.Condition()

    def writer(n: int) -> None:
        rng = random.Random(f"{n}-{time.monotonic_ns()}")
        try:
            made = 0
            while made < CHANGES_PER_WRITER or mirror.polls < POLLS_WHILE_WRITING:
                assert made < MAX_CHANGES_PER_WRITER, "the reader never got to poll"
                made += 1
                where, gtin, hold = rng.choice(places), rng.choice(world.gtins), rng.uniform(0, 0.03)
                try:
                    if rng.random() < 0.25:
                        world.change(where, gtin, safety=rng.randint(0, 3), hold_s=hold)
                    else:
                        world.change(where, gtin, delta=rng.choice([-3, -2, -1, 1, 2, 4]), hold_s=hold)
                except Conflict:
                    pass  # below zero: refused, nothing changed
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    def opener() -> None:
        try:
            for active in (False, True, False):
                target = mirror.polls + 1
                with polled:  # one poll at least between two changes of the store's state
                    assert polled.wait_for(lambda: mirror.polls >= target, timeout=WAIT_S), "the reader stopped polling"
                world.set_active(world.stores[5], active)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)] + [threading.Thread(target=opener)]
    for thread in threads:
        thread.start()
    watcher = threading.Thread(target=lambda: ([t.join() for t in threads], done.set()))
    watcher.start()
    while not done.is_set():
        mirror.poll()
        with polled:
            polled.notify_all()
    watcher.join()
    assert not failures, failures
    assert mirror.polls >= POLLS_WHILE_WRITING
    assert_exact(world, mirror)


def test_a_rolled_back_change_never_shows(world: World) -> None:
    s0 = world.stores[0]
    a = world.gtins[0]
    mirror = Mirror(world, world.feed_in_process)  # it reads while the writer holds SQLite's write lock
    before = world.levels()[(s0, a)]
    with pytest.raises(RuntimeError):
        with unit_of_work(world.factory) as s:
            stock.adjust(s, s0, a, CAUSE, delta=9)
            s.flush()
            mirror.poll()  # the reader runs while the change is open ...
            raise RuntimeError("the writer fails before committing")  # ... and it is rolled back
    mirror.poll()
    assert mirror.rows[(s0, a)][0] == before == world.levels()[(s0, a)]
    world.change(s0, a, delta=1)  # the next change is numbered and sent as usual
    assert mirror.poll()[(s0, a)][0] == before + 1
    assert_exact(world, mirror)


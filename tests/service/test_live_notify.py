"""Live streams woken by PostgreSQL LISTEN/NOTIFY (fulfil.live.notify): with the streams' poll set to a minute, an
event committed by another connection (as another process would) still reaches an open stream within seconds, and
after the listening connection is killed it comes back. On SQLite the streams poll every 0.5 s: the same events come."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from fulfil.app import create_app
from fulfil.auth.service import create_token
from fulfil.db import make_session_factory, unit_of_work
from fulfil.live.notify import APPLICATION_NAME
from fulfil.models import Location, LocationKind, Product, Role, StockCause
from fulfil.stock import service as stock
from tests.factories import delete_location, make_gtin, quiet_settings
from tests.sse import sse_events
from tests.waiting import wait_for

CAUSE = stock.Cause(StockCause.MANUAL, actor="notify test", reason="count")
DEADLINE_S = 20.0  # far below the streams' poll of 60 s: only a notification (or SQLite's 0.5 s poll) is this fast


class Stream(threading.Thread):
    """A client reading the stream in a thread; `events` fills as they come."""

    def __init__(self, client: TestClient, url: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.client, self.url, self.headers = client, url, headers
        self.events: list[dict[str, Any]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.client.stream("GET", self.url, headers=self.headers) as response:
                assert response.status_code == 200
                for event in sse_events(response.iter_lines()):
                    self.events.append(event["data"])
        except BaseException as exc:  # reported by the test
            self.error = exc


@pytest.fixture()
def place(engine: Engine) -> Iterator[dict[str, Any]]:
    factory = make_session_factory(engine)
    store, gtin = f"NT-{uuid.uuid4().hex[:8]}", make_gtin()
    with unit_of_work(factory) as s:
        s.add(Location(id=store, name="notify store", kind=LocationKind.STORE, lat=45.75, lon=4.85, capacity_per_day=None))
        s.add(Product(gtin=gtin, name="notify", company_prefix_length=7))
    with unit_of_work(factory) as s:
        ops = {"Authorization": f"Bearer {create_token(s, role=Role.OPS, name=f'nt-{store}').secret}"}
    yield {"factory": factory, "store": store, "gtin": gtin, "ops": ops}
    with unit_of_work(factory) as s:
        delete_location(s, store)


def _commit(factory: sessionmaker[Session], store: str, gtin: str, delta: int) -> None:
    with unit_of_work(factory) as s:
        stock.adjust(s, store, gtin, CAUSE, delta=delta)


def test_an_event_committed_elsewhere_wakes_an_open_stream_at_once(engine: Engine, database_url: str, dialect: str, place: dict[str, Any]) -> None:
    factory, store, gtin = place["factory"], place["store"], place["gtin"]
    app = create_app(quiet_settings(database_url, live_poll_seconds=60), engine=engine)
    with TestClient(app) as client:
        notifier = app.state.live_notifier
        if dialect == "postgresql":
            assert notifier is not None and notifier.wait_listening(DEADLINE_S)
        else:
            assert notifier is None
        stream = Stream(client, f"/api/v1/locations/{store}/stream?from_start=true&max_events=3&max_seconds=120", place["ops"])
        stream.start()
        _commit(factory, store, gtin, 5)
        wait_for(lambda: len(stream.events) >= 1 or stream.error, "the first event", DEADLINE_S)
        # The stream has read and sent: it now waits for news, with a minute before its next poll.
        _commit(factory, store, gtin, -1)
        wait_for(lambda: len(stream.events) >= 2 or stream.error, "an event committed while the stream waited", DEADLINE_S)
        if dialect == "postgresql":
            # The listening connection dies (a failover, a restart of the server's side): it comes back, and news with it.
            with engine.connect() as conn:
                killed = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :name"),
                                      {"name": f"{APPLICATION_NAME}:{os.getpid()}"}).scalar()
            assert killed >= 1
            wait_for(lambda: not notifier.listening, "the listener to notice", DEADLINE_S)
            assert notifier.wait_listening(DEADLINE_S)
        _commit(factory, store, gtin, 2)
        wait_for(lambda: len(stream.events) >= 3 or stream.error, "an event after the listener came back", DEADLINE_S)
        stream.join(DEADLINE_S)
    assert stream.error is None
    assert [e["on_hand_delta"] for e in stream.events] == [5, -1, 2]

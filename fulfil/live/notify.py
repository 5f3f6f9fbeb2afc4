"""Live streams woken by PostgreSQL LISTEN/NOTIFY: a change committed by any process reaches every process's streams
within milliseconds instead of at their next poll.

Every event row written notifies `fulfil_events:<schema>` with its location when its transaction commits (a trigger,
migration 0017). Each process holds one connection of its own that LISTENs there and wakes the streams of that
location. Notifications are a prompt, never the record: a woken stream reads the tables as a polled one does, and
keeps polling (`FULFIL_LIVE_POLL_SECONDS`, 5 s by default) in case one was missed. While the listening connection is
down, streams poll every 0.5 s as on SQLite, where there is no NOTIFY.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import defaultdict
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from fulfil.leadership import KEEPALIVES

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "fulfil_events:"
APPLICATION_NAME = "fulfil-live"  # the listening connection's application_name is "fulfil-live:<pid>"
RECEIVE_TIMEOUT_S = 0.1  # how often the listener looks up from the socket: a stopping app waits at most this for it
PING_S = 1.0  # how often it checks the connection is alive (a dead one raises, within the keepalive's bounds)
RECONNECT_S = (0.5, 5.0)  # first and longest wait before connecting again


class Subscription:
    """A stream's doorbell: `event` is set (on the stream's event loop) when its location has news."""

    def __init__(self, notifier: Notifier, location_id: str, loop: asyncio.AbstractEventLoop) -> None:
        self.location_id = location_id
        self.event = asyncio.Event()
        self._loop = loop
        self._notifier = notifier

    def ring(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed under a stream that is going away
            self._loop.call_soon_threadsafe(self.event.set)

    async def wait(self, timeout: float) -> bool:
        """Until rung or `timeout` seconds; True when rung. Clears the bell."""
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self.event.clear()

    def close(self) -> None:
        self._notifier._remove(self)


class Notifier:
    """One LISTEN connection of this process, in a thread of its own; rings the subscriptions of a location."""

    def __init__(self, engine: Engine) -> None:
        self._engine = create_engine(
            engine.url, poolclass=NullPool, connect_args={**KEEPALIVES, "application_name": f"{APPLICATION_NAME}:{os.getpid()}"},
        )
        self._subscriptions: dict[str, set[Subscription]] = defaultdict(set)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-notify", daemon=True)

    @property
    def listening(self) -> bool:
        """Whether notifications arrive now (else streams poll often)."""
        return self._listening.is_set()

    def wait_listening(self, timeout: float) -> bool:
        """Block until the connection listens (tests, start-up), at most `timeout` seconds."""
        return self._listening.wait(timeout)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=RECEIVE_TIMEOUT_S + 5)
        self._engine.dispose()

    def subscribe(self, location_id: str) -> Subscription:
        """A doorbell for the calling stream (on its running event loop)."""
        subscription = Subscription(self, location_id, asyncio.get_running_loop())
        with self._lock:
            self._subscriptions[location_id].add(subscription)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        with self._lock:
            found = self._subscriptions.get(subscription.location_id)
            if found is not None:
                found.discard(subscription)
                if not found:
                    del self._subscriptions[subscription.location_id]

    def _ring(self, location_id: str | None) -> None:
        """Ring a location's streams, or every stream (None: after a reconnect, news may have been missed)."""
        with self._lock:
            if location_id is None:
                targets = [s for subs in self._subscriptions.values() for s in subs]
            else:
                targets = list(self._subscriptions.get(location_id, ()))
        for subscription in targets:
            subscription.ring()

    def _run(self) -> None:
        delay = RECONNECT_S[0]
        while not self._stop.is_set():
            try:
                self._listen()
                delay = RECONNECT_S[0]
            except Exception as exc:  # the database went away: poll meanwhile, connect again
                if self._listening.is_set():
                    log.warning("live streams: the LISTEN connection failed (%s): streams poll until it is back", exc)
                self._listening.clear()
                self._ring(None)
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, RECONNECT_S[1])

    def _listen(self) -> None:
        raw = self._engine.raw_connection()
        try:
            conn: Any = raw.driver_connection  # psycopg.Connection
            conn.autocommit = True
            schema = conn.execute("SELECT current_schema()").fetchone()[0]
            conn.execute(f'LISTEN "{CHANNEL_PREFIX}{schema}"')
            self._listening.set()
            self._ring(None)  # what committed while nobody listened
            pinged = time.monotonic()
            while not self._stop.is_set():
                for notify in conn.notifies(timeout=RECEIVE_TIMEOUT_S):
                    self._ring(notify.payload)
                if time.monotonic() - pinged >= PING_S:
                    conn.execute("SELECT 1")  # a dead connection raises here
                    pinged = time.monotonic()
        finally:
            self._listening.clear()
            with contextlib.suppress(Exception):
                raw.close()


def for_engine(engine: Engine) -> Notifier | None:
    """A notifier on PostgreSQL; None elsewhere (streams poll)."""
    return Notifier(engine) if engine.dialect.name == "postgresql" else None

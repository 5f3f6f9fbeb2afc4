"""The received message and the bounded queue between paho's network thread and the consumer."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """One PUBLISH as it arrived; hand it back to `MqttSubscriber.ack` after the commit."""

    topic: str
    payload: bytes = field(repr=False)
    qos: int
    retain: bool
    mid: int  # packet id: only meaningful within `connection`
    received_at: datetime  # our clock, UTC
    dup: bool  # the broker says it may have sent this before (redelivery after reconnect)
    connection: int = 0  # which connection delivered it: acks on a later connection are not sent


class Inbox:
    """A bounded FIFO of received messages: non-blocking put, batched get, purge by predicate."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: deque[ReceivedMessage] = deque()
        lock = threading.Lock()
        self._ready = threading.Condition(lock)
        self._space = threading.Condition(lock)
        self._waiting = 0  # consumers waiting for an item
        self._blocked = 0  # producers waiting for room
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, message: ReceivedMessage, wait: float = 0.0) -> bool:
        """Append, waiting up to `wait` seconds for room; False if still full (or closed)."""
        with self._ready:
            if len(self._items) >= self.capacity:
                deadline = time.monotonic() + wait
                self._blocked += 1
                try:
                    while len(self._items) >= self.capacity and not self._closed:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            return False
                        self._space.wait(remaining)
                finally:
                    self._blocked -= 1
                if self._closed:
                    return False
            self._items.append(message)
            # Waking nobody is the common case under load: skip the notify then.
            if self._waiting:
                self._ready.notify()
            return True

    def reopen(self) -> None:
        """Accept messages again after `close()` (the subscriber was restarted)."""
        with self._ready:
            self._closed = False

    def close(self) -> None:
        """Release a producer blocked on a full queue (shutdown)."""
        with self._ready:
            self._closed = True
            self._space.notify_all()

    def take(self, max_items: int, timeout: float | None) -> list[ReceivedMessage]:
        """Up to `max_items` messages; waits up to `timeout` seconds for the first one only."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._ready:
            while not self._items:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return []
                self._waiting += 1
                try:
                    self._ready.wait(remaining)
                finally:
                    self._waiting -= 1
            count = min(max_items, len(self._items))
            batch = [self._items.popleft() for _ in range(count)]
            if self._blocked:
                self._space.notify()
            return batch

    def purge(self, doomed: Callable[[ReceivedMessage], bool]) -> int:
        """Remove the messages `doomed` selects; how many were removed."""
        with self._ready:
            kept = [m for m in self._items if not doomed(m)]
            removed = len(self._items) - len(kept)
            self._items = deque(kept)
            return removed

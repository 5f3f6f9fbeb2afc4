"""Guessing protection of the public curbside check-in: failed attempts counted per client address.

An address with `max_failures` failed attempts (unknown or finished codes) within the last `window_seconds` is
refused (429 with Retry-After) until the oldest of them leaves the window, valid code or not. Successes do not
reset the count (a customer's own code must not buy more guesses). Limits, as documented in
docs/flows/click-and-collect.md: the counts live in the memory of one process (each worker process counts on its
own, a restart forgets them); the address is the connection's peer, so behind a proxy it is the proxy's unless the
server is told to trust forwarded headers; many addresses can still guess in parallel, which the code's size
(about 8.5e11 codes) is there to make hopeless."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque

# Addresses remembered at most; the least recently failing are forgotten first (memory stays bounded).
MAX_ADDRESSES = 10_000


class FailedAttempts:
    """Failed attempts per key in a sliding window; thread-safe."""

    def __init__(self, max_failures: int, window_seconds: float, max_keys: int = MAX_ADDRESSES) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, key: str, now: float) -> int | None:
        """Seconds until `key` may try again, or None when it may try now."""
        with self._lock:
            times = self._recent(key, now)
            if times is None or len(times) < self.max_failures:
                return None
            return max(1, math.ceil(times[0] + self.window_seconds - now))

    def failed(self, key: str, now: float) -> None:
        """Count a failed attempt of `key`."""
        with self._lock:
            times = self._recent(key, now)
            if times is None:
                times = self._failures[key] = deque(maxlen=self.max_failures)
            times.append(now)
            self._failures.move_to_end(key)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

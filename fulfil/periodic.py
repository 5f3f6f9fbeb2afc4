"""A job run on a fixed interval in a daemon thread inside `fulfil serve` (batch routing, the pickup sweep)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    """Runs `job` every `interval` seconds (the first run one interval after start); a failed run is logged under
    `name`, never fatal to the schedule. stop() waits up to `stop_timeout` seconds for a run in progress."""

    def __init__(self, name: str, interval: float, job: Callable[[], None], *, stop_timeout: float) -> None:
        self._name = name
        self._interval = interval
        self._job = job
        self._stop_timeout = stop_timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        """Start the schedule."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current run, if any."""
        self._stop.set()
        self._thread.join(timeout=self._stop_timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._job()
            except Exception:  # the schedule must survive one bad run
                log.exception("scheduled %s failed", self._name)

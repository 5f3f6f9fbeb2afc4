"""Runs the batch re-optimisation every `routing_batch_interval_seconds` inside `fulfil serve`."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from fulfil.config import Settings
from fulfil.db import unit_of_work
from fulfil.routing_runs.batch import run_batch

log = logging.getLogger(__name__)


class BatchScheduler:
    """A daemon thread that closes a batch window on a fixed interval; a failed run is logged, not fatal."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self._factory = factory
        self._settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="routing-batch", daemon=True)

    def start(self) -> None:
        """Start the schedule (the first run comes one interval after start-up)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current run, if any."""
        self._stop.set()
        self._thread.join(timeout=self._settings.routing_batch_time_limit_seconds + 30)

    def _loop(self) -> None:
        while not self._stop.wait(self._settings.routing_batch_interval_seconds):
            try:
                with unit_of_work(self._factory) as session:
                    run = run_batch(session, self._settings, trigger="schedule", actor="system:scheduler")
                    log.info("batch run %s: %s orders, %s moved, cost %s -> %s in %ss", run.id, run.orders, run.moved, run.cost_before, run.cost_after, run.seconds)
            except Exception:  # the schedule must survive one bad run
                log.exception("scheduled batch routing run failed")

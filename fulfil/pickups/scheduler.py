"""Runs the pickup sweep (reminders, expiry) every `pickup_sweep_interval_seconds` inside `fulfil serve`."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from fulfil.config import Settings
from fulfil.models.base import utcnow
from fulfil.pickups.expiry import sweep

log = logging.getLogger(__name__)

# How long stop() waits for a sweep in progress.
STOP_TIMEOUT_SECONDS = 60.0


class PickupSweeper:
    """A daemon thread that sweeps pickups on a fixed interval; a failed sweep is logged, not fatal."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self._factory = factory
        self._settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pickup-sweep", daemon=True)

    def start(self) -> None:
        """Start the schedule (the first sweep comes one interval after start-up)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current sweep, if any."""
        self._stop.set()
        self._thread.join(timeout=STOP_TIMEOUT_SECONDS)

    def _loop(self) -> None:
        while not self._stop.wait(self._settings.pickup_sweep_interval_seconds):
            try:
                swept = sweep(self._factory, utcnow(), self._settings.pickup_reminder_hours)
                if swept.reminded or swept.expired or swept.failed:
                    log.info("pickup sweep: %d reminded, %d expired, %d failed", len(swept.reminded), len(swept.expired), len(swept.failed))
            except Exception:  # the schedule must survive one bad sweep
                log.exception("scheduled pickup sweep failed")

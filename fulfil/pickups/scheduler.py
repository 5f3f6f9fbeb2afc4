"""Runs the pickup sweep (reminders, expiry) every `pickup_sweep_interval_seconds` inside `fulfil serve`."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from fulfil.config import Settings
from fulfil.models.base import utcnow
from fulfil.periodic import Periodic
from fulfil.pickups.expiry import sweep

log = logging.getLogger(__name__)

# How long stop() waits for a sweep in progress.
STOP_TIMEOUT_SECONDS = 60.0


class PickupSweeper(Periodic):
    """Sweeps pickups on a fixed interval; a failed sweep is logged, not fatal."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        def job() -> None:
            swept = sweep(factory, utcnow(), settings.pickup_reminder_hours)
            if swept.reminded or swept.expired or swept.failed:
                log.info("pickup sweep: %d reminded, %d expired, %d failed", len(swept.reminded), len(swept.expired), len(swept.failed))

        super().__init__("pickup-sweep", settings.pickup_sweep_interval_seconds, job, stop_timeout=STOP_TIMEOUT_SECONDS)

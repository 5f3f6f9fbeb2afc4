"""Runs the pickup sweep (reminders, expiry) every `pickup_sweep_interval_seconds` inside `fulfil serve`, in the
process that leads `pickup-sweep` (each reminder and expiry is claimed by its own conditional write: once whoever
sweeps)."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from fulfil.config import Settings
from fulfil.leadership import Leadership
from fulfil.models.base import utcnow
from fulfil.periodic import Periodic
from fulfil.pickups.expiry import sweep

log = logging.getLogger(__name__)

NAME = "pickup-sweep"
# How long stop() waits for a sweep in progress.
STOP_TIMEOUT_SECONDS = 60.0


class PickupSweeper(Periodic):
    """Sweeps pickups on a fixed interval; a failed sweep is logged, not fatal."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings, leadership: Leadership | None = None) -> None:
        def job() -> None:
            swept = sweep(factory, utcnow(), settings.pickup_reminder_hours)
            if swept.reminded or swept.expired or swept.failed:
                log.info("pickup sweep: %d reminded, %d expired, %d failed", len(swept.reminded), len(swept.expired), len(swept.failed))

        super().__init__(NAME, settings.pickup_sweep_interval_seconds, job, stop_timeout=STOP_TIMEOUT_SECONDS, leadership=leadership,
                         poll=settings.job_leader_poll_seconds)

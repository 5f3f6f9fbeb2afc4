"""Expires due checkout holds every `hold_sweep_interval_seconds` inside `fulfil serve`, in the process that leads
`hold-sweep` (each hold is expired by one conditional UPDATE: exactly once whoever sweeps)."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from fulfil.config import Settings
from fulfil.holds.service import sweep
from fulfil.leadership import Leadership
from fulfil.models.base import utcnow
from fulfil.periodic import Periodic

log = logging.getLogger(__name__)

NAME = "hold-sweep"
STOP_TIMEOUT_SECONDS = 30.0


class HoldSweeper(Periodic):
    """Releases the units of expired holds on a fixed interval; a failed sweep is logged, not fatal."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings, leadership: Leadership | None = None) -> None:
        def job() -> None:
            swept = sweep(factory, utcnow())
            if swept.expired or swept.failed:
                log.info("hold sweep: %d expired, %d failed", len(swept.expired), len(swept.failed))

        super().__init__(NAME, settings.hold_sweep_interval_seconds, job, stop_timeout=STOP_TIMEOUT_SECONDS, leadership=leadership,
                         poll=settings.job_leader_poll_seconds)

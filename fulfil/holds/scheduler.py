"""Expires due checkout holds every `hold_sweep_interval_seconds` inside `fulfil serve`."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from fulfil.config import Settings
from fulfil.holds.service import sweep
from fulfil.models.base import utcnow
from fulfil.periodic import Periodic

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 30.0


class HoldSweeper(Periodic):
    """Releases the units of expired holds on a fixed interval; a failed sweep is logged, not fatal."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        def job() -> None:
            swept = sweep(factory, utcnow())
            if swept.expired or swept.failed:
                log.info("hold sweep: %d expired, %d failed", len(swept.expired), len(swept.failed))

        super().__init__("hold-sweep", settings.hold_sweep_interval_seconds, job, stop_timeout=STOP_TIMEOUT_SECONDS)

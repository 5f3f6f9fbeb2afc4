"""Runs the batch re-optimisation every `routing_batch_interval_seconds` inside `fulfil serve`."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from fulfil.config import Settings
from fulfil.db import unit_of_work
from fulfil.periodic import Periodic
from fulfil.routing_runs.batch import run_batch

log = logging.getLogger(__name__)


class BatchScheduler(Periodic):
    """Closes a batch window on a fixed interval; a failed run is logged, not fatal."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        def job() -> None:
            with unit_of_work(factory) as session:
                run = run_batch(session, settings, trigger="schedule", actor="system:scheduler")
                log.info("batch run %s: %s orders, %s moved, cost %s -> %s in %ss", run.id, run.orders, run.moved, run.cost_before, run.cost_after, run.seconds)

        super().__init__("routing-batch", settings.routing_batch_interval_seconds, job, stop_timeout=settings.routing_batch_time_limit_seconds + 30)

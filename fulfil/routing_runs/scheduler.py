"""Runs the batch re-optimisation every `routing_batch_interval_seconds` inside `fulfil serve`, in the process that
leads `routing-batch`, on a schedule kept in the database: one scheduled run per interval for the whole cluster."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from fulfil.config import Settings
from fulfil.db import unit_of_work
from fulfil.leadership import Leadership
from fulfil.models.base import utcnow
from fulfil.periodic import Periodic
from fulfil.routing_runs import repository
from fulfil.routing_runs.batch import run_batch

log = logging.getLogger(__name__)

NAME = "routing-batch"
# A run counts for its interval when it started at most this many seconds before the interval's end (clock drift
# between the schedule's timer and the rows' timestamps).
SLACK_SECONDS = 0.5


class BatchScheduler(Periodic):
    """Closes a batch window on a fixed interval; a failed run is logged, not fatal.

    The schedule is the database's: the next run is due one interval after the last committed scheduled run started
    (or after this scheduler started, when there was none), so a new leader runs what a killed one left undone (a
    run killed before its commit leaves nothing) and never runs an interval twice. The run's transaction takes a
    transaction-level advisory lock and checks again that the interval's run is not done: two processes that both
    believe they lead still make one run per interval."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings, leadership: Leadership | None = None) -> None:
        interval = timedelta(seconds=settings.routing_batch_interval_seconds)
        slack = timedelta(seconds=min(SLACK_SECONDS, interval.total_seconds() / 10))
        started = utcnow()

        def due(session: Session) -> datetime:
            return (repository.last_scheduled_batch(session) or started) + interval

        def next_delay() -> float:
            with factory() as session:
                return max(0.0, (due(session) - utcnow()).total_seconds())

        def job() -> None:
            with unit_of_work(factory) as session:
                if not repository.lock_scheduled_batch(session):
                    log.info("batch run: another process's scheduled run is in progress")
                    return
                if due(session) > utcnow() + slack:
                    log.info("batch run: this interval's run was made by another process")
                    return
                run = run_batch(session, settings, trigger="schedule", actor="system:scheduler")
                log.info("batch run %s: %s orders, %s moved, cost %s -> %s in %ss", run.id, run.orders, run.moved, run.cost_before, run.cost_after, run.seconds)

        super().__init__(NAME, settings.routing_batch_interval_seconds, job, stop_timeout=settings.routing_batch_time_limit_seconds + 30,
                         leadership=leadership, poll=settings.job_leader_poll_seconds, next_delay=next_delay)

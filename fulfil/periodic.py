"""A job run on a fixed interval in a daemon thread inside `fulfil serve` (batch routing, the hold and pickup sweeps),
in the one process of the cluster that leads it (fulfil.leadership)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from fulfil.leadership import Leadership
from fulfil.telemetry.metrics import publish_leadership

log = logging.getLogger(__name__)

# What a process says of each background job (/healthz, the fulfil_job_leader metric).
LEADER, STANDBY, OFF = "leader", "standby", "off"


class Periodic:
    """Runs `job` every `interval` seconds while this process leads it (the first run one interval after it took the
    lead), or, when `next_delay` is given (a job whose schedule is kept in the database), `next_delay()` seconds after
    it took the lead and after each run; a failed run is logged under `name`, never fatal to the schedule. A standby asks for the lead every `poll` seconds. Without a
    `leadership` the process leads alone. stop() waits up to `stop_timeout` seconds for a run in progress."""

    def __init__(
        self, name: str, interval: float, job: Callable[[], None], *, stop_timeout: float, leadership: Leadership | None = None,
        poll: float = 2.0, next_delay: Callable[[], float] | None = None,
    ) -> None:
        self.name = name
        self._interval = interval
        self._job = job
        self._stop_timeout = stop_timeout
        self._leadership = leadership
        self._poll = poll
        self._next_delay = next_delay
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        """Start the schedule."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current run, if any."""
        self._stop.set()
        self._thread.join(timeout=self._stop_timeout)
        publish_leadership({self.name: STANDBY})  # this process runs it no more (its lead is given up next)

    @property
    def state(self) -> str:
        """LEADER when this process runs the job now, else STANDBY."""
        return LEADER if self._leadership is None or self._leadership.leads(self.name) else STANDBY

    def _loop(self) -> None:
        if self._leadership is None:
            publish_leadership({self.name: LEADER})
            while not self._stop.wait(self._interval):
                self._run()
            return
        due: float | None = None  # monotonic time of the next run while leading
        wait = 0.0  # ask for the lead at once
        while not self._stop.wait(wait):
            held = self._leadership.hold(self.name)
            # At every poll: the workers' shared fulfil_job_leader follows each lead taken or lost within a poll.
            publish_leadership({self.name: LEADER if held else STANDBY})
            if not held:
                due, wait = None, self._poll
                continue
            if due is None:
                due = time.monotonic() + self._delay()
            if time.monotonic() >= due:
                self._run()
                due = time.monotonic() + self._delay()
            wait = max(0.0, min(self._poll, due - time.monotonic()))

    def _delay(self) -> float:
        if self._next_delay is None:
            return self._interval
        try:
            # At least a poll apart: a run that found another process's run in progress (not committed yet, so the
            # schedule still says due) asks again later, not in a tight loop.
            return max(self._next_delay(), min(self._poll, self._interval))
        except Exception:  # the database is away: the ordinary interval, then
            log.exception("scheduled %s: when to run next is unknown", self.name)
            return self._interval

    def _run(self) -> None:
        try:
            self._job()
        except Exception:  # the schedule must survive one bad run
            log.exception("scheduled %s failed", self.name)


def states(jobs: Mapping[str, Periodic | None]) -> dict[str, str]:
    """Each job's state in this process: LEADER, STANDBY, or OFF when its interval is 0."""
    return {name: OFF if job is None else job.state for name, job in jobs.items()}

"""Ingest partitions with failover: `fulfil ingest --partition K/N` runs its own partition and takes over a partition
whose process is gone (docs/deployment.md, "Ingest partitions").

Each partition is led by one process of the cluster through a lock of its own (fulfil.leadership: a PostgreSQL
advisory lock, on SQLite a lock file): `ingest:K/N`. Only the lock's holder runs that partition (its readers, its
smoothing state and its MQTT client id, whose broker session holds the readers' messages while nobody runs it), so two
processes never connect with one client id nor smooth one location's reads.

- A process holds `ingest-home:K/N` for as long as it lives: that says its own partition's process is there.
- At every poll (`FULFIL_JOB_LEADER_POLL_SECONDS`) it takes its partition's lock when free, and looks at the others:
  a partition whose home process has been gone for `FULFIL_INGEST_ADOPT_SECONDS` and whose lock is free is adopted:
  run here from the broker session its process left, so nothing waits for a restart.
- When the home process comes back (its home lock is taken again), the adopter stops that partition, gives up its
  lock, and the home process takes it at its next poll: each partition goes back to one process of its own.

Handing a partition over loses nothing: the adopter stops as `fulfil ingest` stops (messages not yet committed are
not acknowledged and the broker delivers them again to the next holder), and every effect is idempotent by the tag's
state. What is lost is the smoothing state in memory (tags present, departures pending), as at any restart."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from fulfil.ingest.config import IngestConfig
from fulfil.ingest.runtime import IngestRuntime
from fulfil.leadership import Leadership

log = logging.getLogger(__name__)

# How long a started partition waits for its broker subscription before saying so (the client keeps retrying).
SUBSCRIBE_WAIT_S = 10.0


def lead_name(index: int, count: int) -> str:
    return f"ingest:{index}/{count}"


def home_name(index: int, count: int) -> str:
    return f"ingest-home:{index}/{count}"


class PartitionedIngest:
    """This process's partitions: its own (home) one and any it adopted; `step()` once per poll, `stop()` at the end."""

    def __init__(
        self, config: IngestConfig, home: int, count: int, factory: sessionmaker[Session], mqtt_url: str | None, leads: Leadership, *,
        adopt_after_s: float, adopt: bool = True, say: Callable[[str], None] = lambda _line: None, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.parts: dict[int, IngestConfig] = {}
        for index in range(1, count + 1):
            try:
                self.parts[index] = config.partition(index, count)
            except ValueError:  # a partition without readers: nothing to run, nothing to adopt
                continue
        if home not in self.parts:
            raise ValueError(f"partition {home}/{count} holds no reader: {len(config.locations())} location(s) over {count} partitions")
        self.home, self.count = home, count
        self.factory, self.mqtt_url, self.leads = factory, mqtt_url, leads
        self.adopt_after_s, self.adopt, self.say, self.clock = adopt_after_s, adopt, say, clock
        self.running: dict[int, IngestRuntime] = {}
        self.adoptions = 0
        self.handovers = 0
        self._absent_since: dict[int, float] = {}
        self._lock = threading.Lock()

    def step(self) -> None:
        """One poll: hold the home lock, run the home partition when its lock is free, adopt or hand back the others."""
        with self._lock:
            self.leads.hold(home_name(self.home, self.count))
            for index in self.parts:
                if index in self.running:
                    self._keep(index)
                elif index == self.home:
                    if self.leads.hold(lead_name(index, self.count)):
                        self._start(index)
                elif self.adopt:
                    self._maybe_adopt(index)

    def _keep(self, index: int) -> None:
        if not self.leads.hold(lead_name(index, self.count)):  # the lock's connection failed: another process may take it
            self._stop_part(index, "lost its lock")
        elif index != self.home and self._home_present(index):
            self._stop_part(index, "its own process is back: handed back")
            self.leads.release(lead_name(index, self.count))
            self.handovers += 1

    def _maybe_adopt(self, index: int) -> None:
        if self._home_present(index):
            self._absent_since.pop(index, None)
            return
        now = self.clock()
        since = self._absent_since.setdefault(index, now)
        if now - since >= self.adopt_after_s and self.leads.hold(lead_name(index, self.count)):
            self._absent_since.pop(index, None)
            if self._start(index):
                self.adoptions += 1

    def _home_present(self, index: int) -> bool:
        """Whether partition `index`'s own process is alive: its home lock is held (by somebody else)."""
        name = home_name(index, self.count)
        if self.leads.hold(name):
            self.leads.release(name)
            return False
        return True

    def _start(self, index: int) -> bool:
        part = self.parts[index]
        try:
            runtime = IngestRuntime(part, self.factory, self.mqtt_url)
            runtime.start()
        except Exception as exc:
            if index == self.home:
                raise
            log.error("could not start partition %d/%d here: %s", index, self.count, exc)
            self.leads.release(lead_name(index, self.count))
            return False
        self.running[index] = runtime
        if runtime.mqtt is not None and not runtime.mqtt.subscriber.wait_ready(SUBSCRIBE_WAIT_S):
            self.say(f"fulfil: warning: partition {index}/{self.count} not subscribed at {self.mqtt_url} yet "
                     f"({runtime.mqtt.subscriber.counters.last_error}); retrying in the background")
        where = f"{len(part.readers)} reader(s) (partition {index}/{self.count}: {len(part.locations())} location(s))"
        self.say(f"ingesting from {where}; Ctrl-C to stop" if index == self.home else f"adopted partition {index}/{self.count} (its process is gone): {where}")
        log.info("partition %d/%d started here (%s)", index, self.count, "home" if index == self.home else "adopted")
        return True

    def _stop_part(self, index: int, why: str) -> None:
        runtime = self.running.pop(index)
        runtime.stop()
        self.say(f"partition {index}/{self.count} stopped here: {why}")
        log.warning("partition %d/%d stopped here: %s", index, self.count, why)

    def stop(self) -> None:
        """Stop every partition running here and give up every lock (others adopt them, or their process takes them)."""
        with self._lock:
            for index in list(self.running):
                self.running.pop(index).stop()
            self.leads.close()

    def status(self) -> dict[str, Any]:
        return {"home": self.home, "count": self.count, "running": sorted(self.running), "adoptions": self.adoptions, "handovers": self.handovers}

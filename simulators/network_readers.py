"""The demo network's readers (simulators.network_sim): what each antenna of every location's reader sees, published
as real Impinj payloads a few times a second over a link (an MQTT topic, or the HTTP ingest)."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx

from simulators.reader_payloads import PayloadFactory, ReaderSpec

log = logging.getLogger(__name__)

TICKS_PER_SECOND = 4  # the readers publish this often (wall clock)
DOCK, EXIT_INNER, EXIT_OUTER = 1, 3, 4  # every simulated reader's antenna ports ...
PACK_PORTS = (2, 5, 6, 7)  # ... and its pack stations' (pack-station-1, -2, ...: one per worker)
ANTENNAS = {DOCK: "receiving", EXIT_INNER: "exit-inner", EXIT_OUTER: "exit-outer", **{port: f"pack-station-{n}" for n, port in enumerate(PACK_PORTS, 1)}}


class ReaderLink(Protocol):
    """Where a reader's payloads go (an MQTT topic, the HTTP ingest)."""

    def send(self, payload: bytes) -> None: ...


class HttpReaderLink:
    """A reader posting its payloads to `POST /api/v1/ingest/payloads?reader=ID` with a device token."""

    def __init__(self, base_url: str, reader_id: str, token: str) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=10.0, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        self._path = f"/api/v1/ingest/payloads?reader={reader_id}"

    def send(self, payload: bytes) -> None:
        answer = self._client.post(self._path, content=payload)
        if answer.status_code >= 400:
            log.warning("reader payload refused: %s %s", answer.status_code, answer.text[:200])

    def close(self) -> None:
        self._client.close()


@dataclass
class _Reader:
    id: str
    location: str
    link: ReaderLink
    tables: dict[int, list[str]] = field(default_factory=dict)  # on each pack station now, by antenna port
    sightings: dict[str, deque[tuple[int, list[str], int]]] = field(default_factory=lambda: defaultdict(deque))


class ReaderHub:
    """Every location's reader: what each antenna sees, published TICKS_PER_SECOND times a second (wall clock)."""

    def __init__(self, readers: dict[str, tuple[str, ReaderLink]]) -> None:
        self._readers = {location: _Reader(rid, location, link) for location, (rid, link) in readers.items()}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tick = 0
        self._cleared: dict[tuple[str, int], float] = {}
        self.payloads = 0
        self.failures = 0

    def __contains__(self, location: str) -> bool:
        return location in self._readers

    def set_table(self, location: str, port: int, epcs: list[str]) -> None:
        """What lies on a pack table now (replaces what lay there)."""
        if location in self._readers:
            with self._lock:
                self._readers[location].tables[port] = list(epcs)
                if not epcs:
                    self._cleared[(location, port)] = time.monotonic()

    def table_clear_since(self, location: str, port: int) -> float:
        """Wall-clock seconds since a pack table was last cleared (inf: never used)."""
        with self._lock:
            cleared = self._cleared.get((location, port))
        return math.inf if cleared is None else time.monotonic() - cleared

    def sight(self, location: str, stream: str, steps: list[tuple[int, list[str], int]]) -> None:
        """Tags seen one step after the other on one stream (`dock`, `exit`): each step is (antenna, epcs, ticks)."""
        if location in self._readers:
            with self._lock:
                self._readers[location].sightings[stream].extend(steps)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sim-readers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(1.0 / TICKS_PER_SECOND):
            self._tick += 1
            for reader in list(self._readers.values()):
                try:
                    seen = self._visible(reader)
                    if not seen:
                        continue
                    tags = sum(len(v) for v in seen.values())
                    reads = min(max(8, 3 * tags), 600)
                    spec = ReaderSpec(reader.id, "impinj", seen, events_per_payload=reads, reads_per_second=reads * TICKS_PER_SECOND,
                                      start=datetime.now(UTC) - timedelta(seconds=1.0 / TICKS_PER_SECOND), seed=self._tick)
                    for payload in PayloadFactory(spec).next_payloads():
                        reader.link.send(payload)
                        self.payloads += 1
                except Exception:  # a broker or server hiccup: the next tick reads again
                    self.failures += 1
                    log.exception("reader %s could not send", reader.id)

    def _visible(self, reader: _Reader) -> dict[int, list[str]]:
        with self._lock:
            seen: dict[int, list[str]] = defaultdict(list)
            for port, table in reader.tables.items():
                seen[port] += table
            for queue in reader.sightings.values():
                if not queue:
                    continue
                antenna, epcs, ticks = queue[0]
                seen[antenna] += epcs
                if ticks <= 1:
                    queue.popleft()
                else:
                    queue[0] = (antenna, epcs, ticks - 1)
            return {port: epcs for port, epcs in seen.items() if epcs}

"""A bounded queue a driver can deliver into, for consumers that prefer pulling to callbacks."""

from __future__ import annotations

import queue
import threading

from rfid.reads import ReaderEvent, TagRead

DEFAULT_MAXSIZE = 10_000


class ReadQueue:
    """Bounded queue of reads and events; when full, reads are dropped and counted, events never are."""

    def __init__(self, maxsize: int = DEFAULT_MAXSIZE) -> None:
        self.queue: queue.Queue[TagRead | ReaderEvent] = queue.Queue(maxsize)
        self.dropped_reads = 0
        self._lock = threading.Lock()

    def on_read(self, read: TagRead) -> None:
        """Driver callback: enqueue a read without blocking the read loop."""
        try:
            self.queue.put_nowait(read)
        except queue.Full:
            with self._lock:
                self.dropped_reads += 1

    def on_event(self, event: ReaderEvent) -> None:
        """Driver callback: enqueue a reader event (waits for room: an offline event must not be lost)."""
        self.queue.put(event)

    def get(self, timeout: float | None = None) -> TagRead | ReaderEvent:
        """The next read or event; raises queue.Empty after `timeout` seconds."""
        return self.queue.get(timeout=timeout)

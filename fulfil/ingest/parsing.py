"""Decoding MQTT payloads on a second core: a parse process the ingest worker hands batches to.

CPython runs one thread of Python at a time, and one ingest worker does three kinds of per-read work: paho
taking messages off the socket, decoding the JSON into smoothing rows, and smoothing plus committing. The
middle one is a pure function of the payload (`rfid.payloads.lean`), so it can run in a child process while
this one smooths and commits the batch before: the worker sends a batch of jobs and collects the rows of
the batch it sent before, in order.

The child is an implementation detail, never a point of failure: whatever goes wrong with it (it cannot
start, dies, hangs, answers nonsense) the batch is decoded in this process instead, counted, logged, and
the child is started again after a pause. Payloads the lean decoders decline (reader events, anything
unusual) come back as None and take the checked path in the pipeline, with its rejections and reasons.
Nothing is acknowledged to the broker on the child's word: acks still follow the commit.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from rfid.payloads.lean import LEAN_PARSERS, Row

log = logging.getLogger(__name__)

# One job: (payload, format, reader id, use the reader's clock, time of receipt in epoch seconds).
Job = tuple[bytes, str, str, bool, float]
Rows = list[Row] | None

# How long a batch may take in the child before it is declared hung (a batch is at most a few MB of JSON).
PARSE_TIMEOUT_S = 10.0
# How long a new child may take to import its decoders and say it is ready.
START_TIMEOUT_S = 20.0
READY = "ready"
# Socket buffers asked for on both ends: a batch of 500 messages of 50 reads is about 4 MB.
SOCKET_BUFFER_BYTES = 4 << 20
# The child's GIL hand-over interval (CPython's default is 5 ms).
CHILD_SWITCH_INTERVAL_S = 0.0002
# After the child failed, decode here for this long before starting a new one.
RESTART_PAUSE_S = 5.0
# How long stop() waits for the child to exit on its own before killing it.
STOP_WAIT_S = 5.0


def parse_jobs(jobs: Sequence[Job | None]) -> list[Rows]:
    """The smoothing rows of each job, or None where there is no job or the lean decoder declines
    (the checked path then decides)."""
    out: list[Rows] = []
    for job in jobs:
        if job is None:
            out.append(None)
            continue
        payload, fmt, reader, reader_clock, received_s = job
        try:
            out.append(LEAN_PARSERS[fmt](payload, reader, reader_clock, received_s))
        except Exception:  # noqa: BLE001 - a decoder bug must not lose the payload: the checked path takes it
            out.append(None)
    return out


@dataclass
class Pending:
    """A batch handed to `ParseProcess.submit`; `ParseProcess.collect` turns it into rows."""

    jobs: list[Job | None]
    generation: int | None  # the child it was sent to, or None when it was not sent (decoded at collect)
    results: list[Rows] | None = field(default=None, repr=False)


class ParseProcess:
    """A child process decoding job batches in the order they were submitted; falls back to this process.

    Used by one thread (the ingest worker's). `start()` is optional: a ParseProcess never started decodes
    every batch in this process, as does one whose child failed, until the restart pause is over."""

    def __init__(self, *, parse_timeout_s: float = PARSE_TIMEOUT_S, restart_pause_s: float = RESTART_PAUSE_S) -> None:
        self.parse_timeout_s = parse_timeout_s
        self.restart_pause_s = restart_pause_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._generation = 0  # bumped per child started: answers owed by a dead child are never awaited
        self._retry_at = 0.0
        self._wanted = False
        self.batches_in_child = 0
        self.batches_here = 0
        self.failures = 0
        self.last_error: str | None = None

    @property
    def running(self) -> bool:
        """Whether a child is up and taking batches."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        """Start the child (a fresh interpreter running this module); a failure only means decoding here."""
        self._wanted = True
        self._spawn()

    def stop(self) -> None:
        """Tell the child to exit (it also exits when this process dies: its socket closes) and reap it."""
        self._wanted = False
        self._close()

    def submit(self, jobs: list[Job | None]) -> Pending:
        """Hand a batch to the child if one is running (restarting it when due); collect it with `collect`."""
        if not any(jobs):
            return Pending(jobs, None, [None] * len(jobs))
        if self._conn is None and self._wanted and time.monotonic() >= self._retry_at:
            self._spawn()
        if self._conn is not None:
            try:
                self._conn.send(jobs)
                return Pending(jobs, self._generation)
            except (OSError, ValueError) as exc:
                self._failed(f"sending a batch: {exc}")
        return Pending(jobs, None)

    def collect(self, pending: Pending) -> list[Rows]:
        """The rows of a submitted batch (one entry per job), from the child or decoded here."""
        if pending.results is None:
            if pending.generation is not None and pending.generation == self._generation and self._conn is not None:
                pending.results = self._receive(len(pending.jobs))
            if pending.results is None:
                self.batches_here += 1
                pending.results = parse_jobs(pending.jobs)
            else:
                self.batches_in_child += 1
        return pending.results

    def status(self) -> dict[str, object]:
        """For `GET /ingest/status`."""
        return {"running": self.running, "pid": self.pid if self.running else None, "batches_in_child": self.batches_in_child,
                "batches_here": self.batches_here, "failures": self.failures, "last_error": self.last_error}

    # -- the child's lifecycle ---------------------------------------------------------------

    def _receive(self, expected: int) -> list[Rows] | None:
        assert self._conn is not None
        try:
            if not self._conn.poll(self.parse_timeout_s):
                self._failed(f"no answer within {self.parse_timeout_s:g} s")
                return None
            results = self._conn.recv()
        except (OSError, EOFError, ValueError) as exc:
            self._failed(f"receiving a batch: {exc!r}")
            return None
        if type(results) is not list or len(results) != expected:
            self._failed(f"answered {type(results).__name__} for a batch of {expected}")
            return None
        return results

    def _spawn(self) -> None:
        ours, theirs = socket.socketpair()
        for end in (ours, theirs):  # room for a whole batch in flight (the kernel caps it at net.core.[rw]mem_max)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER_BYTES)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER_BYTES)
        root = str(Path(__file__).resolve().parents[2])  # the child imports this project as we do
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "fulfil.ingest.parsing", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL, close_fds=True,
                start_new_session=True,  # Ctrl-C reaches the service, which stops the child itself
            )
        except OSError as exc:
            ours.close()
            self._failed(f"cannot start: {exc}")
            return
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        self._generation += 1
        try:  # the child says when its imports are done: a batch sent before would wait for them
            problem = None if self._conn.poll(START_TIMEOUT_S) and self._conn.recv() == READY else f"not ready within {START_TIMEOUT_S:.0f} s"
        except (OSError, EOFError) as exc:
            problem = f"exited while starting ({exc!r})"
        if problem is not None:
            self._failed(problem)
            return
        log.info("ingest parse process started (pid %d)", self._proc.pid)

    def _failed(self, why: str) -> None:
        self.failures += 1
        self.last_error = why
        log.warning("ingest parse process failed (%s); decoding in the worker for %g s before a restart", why, self.restart_pause_s)
        self._close(kill=True)
        self._retry_at = time.monotonic() + self.restart_pause_s

    def _close(self, kill: bool = False) -> None:
        conn, proc = self._conn, self._proc
        self._conn = self._proc = None
        if conn is not None:
            conn.close()  # the child reads EOF and exits
        if proc is not None:
            if kill:
                proc.kill()
            try:
                proc.wait(STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_WAIT_S)


def _serve(fd: int) -> None:
    """The child: decode batches until the parent's end of the socket closes (also when the parent dies).

    A thread keeps reading batches while the main thread decodes and answers, so the parent can always send
    its next batch even while it is not reading an answer yet (both ends blocked on full buffers would deadlock)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The reader thread needs the GIL for a moment per socket chunk of a batch: hand it over often, or the
    # parent blocks on a full socket while this process decodes.
    sys.setswitchinterval(CHILD_SWITCH_INTERVAL_S)
    conn = Connection(fd)
    inbox: queue.SimpleQueue[list[Job | None] | None] = queue.SimpleQueue()

    def read() -> None:
        try:
            while True:
                inbox.put(conn.recv())
        except (EOFError, OSError):
            inbox.put(None)

    threading.Thread(target=read, name="parse-reader", daemon=True).start()
    conn.send(READY)
    while (jobs := inbox.get()) is not None:
        try:
            conn.send(parse_jobs(jobs))
        except OSError:
            return


if __name__ == "__main__":
    _serve(int(sys.argv[1]))

"""`fulfil serve --workers N`: N server processes answering on one listening socket, under a supervisor.

The supervisor binds the socket (fulfil.commands.serve._listen), starts N worker processes (spawned: fresh
interpreters, each with its own app, engine and pool) that all accept on it, and replaces a worker that dies (a
worker that fails before serving stops them all: it would fail again). SIGTERM or SIGINT: the supervisor sends
SIGTERM to every worker, each stops gracefully (live streams end, requests finish, background jobs stop and give up
their leads), and it exits 0 when all did. A worker whose supervisor disappears (SIGKILL) stops by itself.

The supervisor opens no database connection once the workers run; which worker leads each background job is the
database's affair (fulfil.leadership).

Metrics: before it starts a worker the supervisor names a directory in PROMETHEUS_MULTIPROC_DIR (a private one,
removed when it exits, or the operator's own, emptied of an earlier run's files), where every worker keeps its
metrics and from which a scrape of any worker adds them all up; when a worker ends it deletes that worker's live
gauges (fulfil.telemetry.multiprocess)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

from fulfil.telemetry.multiprocess import mark_dead, shared_directory

log = logging.getLogger("fulfil.workers")

# How long workers get to stop after SIGTERM before they are killed (a batch run finishing counts: 10 s + 30 s).
STOP_SECONDS = 60.0
# How often a worker checks that its supervisor is still there.
ORPHAN_CHECK_SECONDS = 1.0
FAILED_TO_START = 3  # a worker's exit status when its server never started
# A worker that dies this soon after the previous death of its slot is restarted after a pause, not at once.
RESTART_PAUSE_SECONDS = 1.0


def supervise(count: int, listener: socket.socket, host: str, port: int) -> int:
    """Run `count` workers on `listener` until SIGTERM or SIGINT; 0 when every worker stopped cleanly."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    with shared_directory() as metrics:  # in the environment before any worker is spawned: they inherit it
        log.info("the workers' metrics are kept in %s", metrics)
        return _run(count, listener, host, port, stop, metrics)


def _run(count: int, listener: socket.socket, host: str, port: int, stop: threading.Event, metrics: Path) -> int:
    context = multiprocessing.get_context("spawn")

    def start(slot: int) -> BaseProcess:
        process = context.Process(target=_worker, args=(listener, host, port, os.getpid()), name=f"fulfil-worker-{slot}", daemon=False)
        process.start()
        log.info("worker %d started (pid %s)", slot, process.pid)
        return process

    workers = [start(slot) for slot in range(count)]
    failed = False
    while not stop.is_set():
        wait([w.sentinel for w in workers], timeout=0.5)
        for slot, worker in enumerate(workers):
            if worker.is_alive() or stop.is_set():
                continue
            worker.join()
            mark_dead(worker.pid, metrics)  # at once: its leads may be taken by another worker at its next poll
            if worker.exitcode == FAILED_TO_START:
                log.error("worker %d (pid %s) failed to start: stopping", slot, worker.pid)
                failed = True
                stop.set()
                break
            log.warning("worker %d (pid %s) died (exit status %s): starting another", slot, worker.pid, worker.exitcode)
            stop.wait(RESTART_PAUSE_SECONDS)
            if not stop.is_set():
                workers[slot] = start(slot)
    return 1 if _stop_all(workers, metrics) or failed else 0


def _stop_all(workers: list[BaseProcess], metrics: Path) -> bool:
    """SIGTERM every worker, wait up to STOP_SECONDS, kill what is left; True when one did not stop cleanly."""
    for worker in workers:
        if worker.is_alive() and worker.pid is not None:
            os.kill(worker.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    unclean = False
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            log.error("worker pid %s did not stop within %s s: killed", worker.pid, STOP_SECONDS)
            worker.kill()
            worker.join()
            unclean = True
        elif worker.exitcode not in (0, -signal.SIGTERM):
            unclean = True
        mark_dead(worker.pid, metrics)
    return unclean


def _worker(listener: socket.socket, host: str, port: int, supervisor: int) -> None:
    """One worker: the app on the shared socket, until SIGTERM (from the supervisor) or SIGINT (Ctrl-C)."""
    import uvicorn

    from fulfil.app import create_app
    from fulfil.commands.serve import exit_cleanly, stopping_server
    from fulfil.config import get_settings
    from fulfil.telemetry.logs import configure as configure_logs

    settings = get_settings()
    configure_logs(settings.log_format, settings.log_level)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, exit_cleanly)
    threading.Thread(target=_stop_when_orphaned, args=(supervisor,), name="orphan-check", daemon=True).start()
    server = None
    try:
        app = create_app(settings)
        server = stopping_server(app, uvicorn.Config(app, host=host, port=port, log_level=settings.log_level, log_config=None,
                                                     timeout_graceful_shutdown=10))
        server.run(sockets=[listener])
    except SystemExit:
        pass
    if server is None or not server.started:
        sys.exit(FAILED_TO_START)


def _stop_when_orphaned(supervisor: int) -> None:
    """SIGTERM this worker when its supervisor is gone (killed): no worker outlives it."""
    while os.getppid() == supervisor:
        time.sleep(ORPHAN_CHECK_SECONDS)  # a poll of the parent's pid: nothing to wait on
    os.kill(os.getpid(), signal.SIGTERM)

"""`fulfil serve [--workers N]`: run the API (and, when configured, the reader ingest) with uvicorn, in one process or
in N worker processes on one socket (fulfil.commands.serve_workers)."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fulfil.commands._common import reporting_errors
from fulfil.config import Settings, get_settings
from fulfil.errors import BadRequest

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

# Where the demo (`fulfil demo`) keeps its broker's persistence, its readers file and its secrets (next to the default SQLite file).
DEMO_DIR = Path("var")
MAX_WORKERS = 64


@reporting_errors
def _serve(args: argparse.Namespace) -> int:
    from fulfil.telemetry.multiprocess import keep_in_memory

    if args.workers == 1:
        keep_in_memory()  # before prometheus_client is imported (below): it reads the environment once
    import uvicorn

    from fulfil.app import create_app
    from fulfil.commands.serve_workers import supervise
    from fulfil.connection_budget import check as check_connections
    from fulfil.telemetry.logs import configure as configure_logs

    settings = get_settings()
    configure_logs(settings.log_format, settings.log_level)
    host = args.host or settings.host
    port = args.port or settings.port
    _check_workers(settings, args.workers)
    # The address first: a port already taken fails here, before a broker, readers or the app start.
    listener = _listen(host, port)
    try:
        warning = check_connections(settings, args.workers)
    except BaseException:
        listener.close()
        raise
    if warning:
        print(f"fulfil: {warning}", file=sys.stderr, flush=True)
    if args.workers > 1:
        try:
            print(f"Fulfil API on http://{host}:{port} in {args.workers} worker processes (supervisor pid {os.getpid()})  "
                  f"(OpenAPI docs: http://{host}:{port}/docs)", flush=True)
            return supervise(args.workers, listener, host, port)
        finally:
            listener.close()
    # uvicorn stops gracefully on SIGINT/SIGTERM, then raises the signal again for the previous handler:
    # make that a clean exit, so the `finally` below runs and the status is 0.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, exit_cleanly)
    try:
        app = create_app(settings)
        print(f"Fulfil API on http://{host}:{port}  (OpenAPI docs: http://{host}:{port}/docs)", flush=True)
        server = stopping_server(app, uvicorn.Config(app, host=host, port=port, log_level=settings.log_level, log_config=None,
                                                     timeout_graceful_shutdown=10))
        server.run(sockets=[listener])  # the socket bound above: no window for another process to take the port
    finally:
        listener.close()
    return 0 if server.started else 1


def _check_workers(settings: Settings, workers: int) -> None:
    """Several workers need PostgreSQL, and no reader ingest in the API processes (docs/deployment.md)."""
    if workers == 1:
        return
    from fulfil.db import is_sqlite

    if is_sqlite(settings.database_url):
        raise BadRequest(f"--workers {workers} needs PostgreSQL (FULFIL_DATABASE_URL=postgresql://...): SQLite takes one writer at a "
                         "time and runs in one process; serve SQLite with one worker")
    if settings.readers_config:
        raise BadRequest(f"--workers {workers} with FULFIL_READERS_CONFIG: reader ingest keeps its state in one process; run it on its "
                         "own (`fulfil ingest --config FILE`, or a one-worker `fulfil serve` for HTTP readers) and unset "
                         "FULFIL_READERS_CONFIG for the API workers")


def stopping_server(app: FastAPI, config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn's server that, asked to stop, first tells the app (`app.state.stopping`): its live streams then end,
    so the graceful shutdown does not wait on pages left open (and gives up after its timeout in any case)."""
    import uvicorn

    class _StoppingServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            app.state.stopping = True
            super().handle_exit(sig, frame)

    return _StoppingServer(config)


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) the way uvicorn binds one; BadRequest with the reason if it cannot be."""
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise BadRequest(f"cannot serve on {url}: {(exc.strerror or str(exc)).lower()}") from exc
    return sock


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1-65535)")
    return port


def exit_cleanly(signum: int, frame: object) -> None:
    """A signal handler that exits with status 0 (after uvicorn's graceful stop)."""
    raise SystemExit(0)


def _workers(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers (1-{MAX_WORKERS})")
    return count


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `serve` command."""
    serve = subparsers.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default=None, help="interface to bind (FULFIL_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=None, help="port (FULFIL_PORT, default 8000)")
    serve.add_argument("--workers", type=_workers, default=1,
                       help="server processes on the port (default 1); more than 1 needs PostgreSQL (docs/deployment.md)")
    serve.set_defaults(func=_serve)

"""`fulfil serve`: run the API (and, when configured, the reader ingest) with uvicorn."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from fulfil.config import get_settings

# Where `--demo` keeps its broker's persistence and its readers file (next to the default SQLite file).
DEMO_DIR = Path("var")


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from fulfil.app import create_app

    # uvicorn stops gracefully on SIGINT/SIGTERM, then raises the signal again for the previous handler:
    # make that a clean exit, so the `finally` below runs (the demo's broker stops) and the status is 0.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _exit_cleanly)
    settings = get_settings()
    demo = None
    if args.demo:
        from fulfil.demo_readers import DemoReaders

        demo = DemoReaders(DEMO_DIR.resolve())
        settings = demo.prepare(settings)
    host = args.host or settings.host
    port = args.port or settings.port
    try:
        app = create_app(settings)
        if demo is not None:
            for line in demo.describe():
                print(f"demo: {line}", file=sys.stderr)
            mqtt = app.state.ingest.mqtt if app.state.ingest is not None else None
            demo.start(mqtt.subscriber.wait_ready if mqtt is not None else None)
        print(f"Fulfil API on http://{host}:{port}  (OpenAPI docs: http://{host}:{port}/docs)", flush=True)
        uvicorn.run(app, host=host, port=port, log_level=settings.log_level)
    finally:
        if demo is not None:
            demo.stop()
    return 0


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `serve` command."""
    serve = subparsers.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default=None, help="interface to bind (FULFIL_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (FULFIL_PORT, default 8000)")
    serve.add_argument("--demo", action="store_true",
                       help="also run demo readers: a private Mosquitto (if installed), a readers file in var/ and emulated "
                            "Impinj/Zebra readers streaming deliveries into two stores (unless FULFIL_READERS_CONFIG is set)")
    serve.set_defaults(func=_serve)

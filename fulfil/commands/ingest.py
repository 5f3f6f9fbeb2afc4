"""`fulfil ingest --config readers.toml`: run the reader ingest workers without the API."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from fulfil.commands._common import reporting_errors

# How long to wait for the broker's SUBACK before saying so (the client keeps retrying).
SUBSCRIBE_WAIT_S = 10.0


@reporting_errors
def _ingest(args: argparse.Namespace) -> int:
    from fulfil.config import get_settings
    from fulfil.db import engine_for, make_session_factory
    from fulfil.ingest.config import load_config
    from fulfil.ingest.runtime import IngestRuntime

    settings = get_settings()
    config = load_config(Path(args.config))
    mqtt_url = args.mqtt_url or settings.mqtt_url
    engine = engine_for(settings)
    try:
        runtime = IngestRuntime(config, make_session_factory(engine), mqtt_url)
    except ValueError as exc:
        print(f"fulfil: error: {exc}", file=sys.stderr)
        return 2
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    runtime.start()
    if runtime.mqtt is not None and not runtime.mqtt.subscriber.wait_ready(SUBSCRIBE_WAIT_S):
        print(f"fulfil: warning: not subscribed at {mqtt_url} yet ({runtime.mqtt.subscriber.counters.last_error}); "
              "retrying in the background", file=sys.stderr, flush=True)
    print(f"ingesting from {len(config.readers)} reader(s); Ctrl-C to stop", file=sys.stderr, flush=True)
    done.wait()
    runtime.stop()
    engine.dispose()
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `ingest` command."""
    ingest = subparsers.add_parser("ingest", help="run reader ingest (MQTT readers) without the API")
    ingest.add_argument("--config", required=True, help="readers file (TOML), see docs/readers.md")
    ingest.add_argument("--mqtt-url", default=None, help="broker URL (default FULFIL_MQTT_URL)")
    ingest.set_defaults(func=_ingest)

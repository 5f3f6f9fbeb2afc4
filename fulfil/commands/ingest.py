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
    if args.partition is not None:
        try:
            config = config.partition(*args.partition)
        except ValueError as exc:
            print(f"fulfil: error: {exc}", file=sys.stderr)
            return 2
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
    part = f" (partition {args.partition[0]}/{args.partition[1]}: {len(config.locations())} location(s))" if args.partition else ""
    print(f"ingesting from {len(config.readers)} reader(s){part}; Ctrl-C to stop", file=sys.stderr, flush=True)
    done.wait()
    runtime.stop()
    engine.dispose()
    return 0


def _partition(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not K/N (e.g. 1/2)") from None
    if not 1 <= index <= count <= 1024:
        raise argparse.ArgumentTypeError(f"{text!r}: K must be 1..N and N at most 1024")
    return index, count


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `ingest` command."""
    ingest = subparsers.add_parser("ingest", help="run reader ingest (MQTT readers) without the API")
    ingest.add_argument("--config", required=True, help="readers file (TOML), see docs/readers.md")
    ingest.add_argument("--mqtt-url", default=None, help="broker URL (default FULFIL_MQTT_URL)")
    ingest.add_argument(
        "--partition", type=_partition, default=None, metavar="K/N",
        help="ingest only partition K of N of the readers file: whole locations by a hash of their id (run N processes, "
        "K = 1..N; docs/deployment.md)",
    )
    ingest.set_defaults(func=_ingest)

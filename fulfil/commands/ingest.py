"""`fulfil ingest --config readers.toml`: run the reader ingest workers without the API."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from fulfil.commands._common import reporting_errors

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from fulfil.config import Settings
    from fulfil.ingest.config import IngestConfig

# How long to wait for the broker's SUBACK before saying so (the client keeps retrying).
SUBSCRIBE_WAIT_S = 10.0


@reporting_errors
def _ingest(args: argparse.Namespace) -> int:
    from fulfil.config import get_settings
    from fulfil.db import engine_for, make_session_factory
    from fulfil.ingest.config import load_config

    settings = get_settings()
    config = load_config(Path(args.config))
    mqtt_url = args.mqtt_url or settings.mqtt_url
    engine = engine_for(settings)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        if args.partition is None:
            return _whole(config, make_session_factory(engine), mqtt_url, done)
        return _partitioned(config, args, settings, engine, mqtt_url, done)
    finally:
        engine.dispose()


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _whole(config: IngestConfig, factory: sessionmaker[Session], mqtt_url: str | None, done: threading.Event) -> int:
    from fulfil.ingest.runtime import IngestRuntime

    try:
        runtime = IngestRuntime(config, factory, mqtt_url)
    except ValueError as exc:
        _say(f"fulfil: error: {exc}")
        return 2
    runtime.start()
    if runtime.mqtt is not None and not runtime.mqtt.subscriber.wait_ready(SUBSCRIBE_WAIT_S):
        _say(f"fulfil: warning: not subscribed at {mqtt_url} yet ({runtime.mqtt.subscriber.counters.last_error}); retrying in the background")
    _say(f"ingesting from {len(config.readers)} reader(s); Ctrl-C to stop")
    done.wait()
    runtime.stop()
    return 0


def _partitioned(config: IngestConfig, args: argparse.Namespace, settings: Settings, engine: Engine, mqtt_url: str | None, done: threading.Event) -> int:
    """Partition K of N, and (unless --no-adopt) any other partition whose process is gone (fulfil.ingest.partitions)."""
    from fulfil.db import make_session_factory
    from fulfil.ingest.partitions import PartitionedIngest
    from fulfil.leadership import for_engine

    home, count = args.partition
    if config.readers and any(r.transport == "mqtt" for r in config.readers) and not mqtt_url:
        _say("fulfil: error: the readers file lists MQTT readers but FULFIL_MQTT_URL is not set")
        return 2
    try:
        partitions = PartitionedIngest(config, home, count, make_session_factory(engine), mqtt_url, for_engine(engine, spread=True),
                                       adopt_after_s=settings.ingest_adopt_seconds, adopt=args.adopt, say=_say)
    except ValueError as exc:
        _say(f"fulfil: error: {exc}")
        return 2
    try:
        while True:
            partitions.step()
            if done.wait(settings.job_leader_poll_seconds):
                break
    finally:
        partitions.stop()
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
        help="ingest partition K of N of the readers file: whole locations by a hash of their id (run N processes, "
        "K = 1..N; docs/deployment.md); a partition whose process is gone is adopted by another until it is back",
    )
    ingest.add_argument("--no-adopt", dest="adopt", action="store_false",
                        help="with --partition: run only partition K, never adopt another's (failover off)")
    ingest.set_defaults(func=_ingest)

"""`fulfil demo`: the service with a simulated store network at work around it (fulfil.demo_network)."""

from __future__ import annotations

import argparse
import re
import signal
from pathlib import Path

from fulfil.commands._common import reporting_errors
from fulfil.commands.serve import DEMO_DIR, _port

DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def duration(text: str) -> float:
    """`1h`, `90m`, `1h30m`, `45s` or plain seconds, > 0: simulated seconds."""
    match = DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 1h, 90m, 1h30m, 600)")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise argparse.ArgumentTypeError("the duration must be more than 0")
    return total


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 10_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number in (0, 10000]")
    return value


@reporting_errors
def _demo(args: argparse.Namespace) -> int:
    from fulfil.config import get_settings
    from fulfil.demo_network import Demo, DemoOptions
    from fulfil.telemetry.logs import configure as configure_logs

    settings = get_settings()
    configure_logs(settings.log_format, "warning")
    demo = Demo(settings, DemoOptions(
        speed=args.speed, duration_s=args.duration, orders_per_hour=args.orders_per_hour, seed=args.seed,
        host=args.host or settings.host, port=args.port if args.port is not None else settings.port, var_dir=DEMO_DIR,
        summary_json=Path(args.summary_json) if args.summary_json else None, readers=args.readers,
    ))

    def interrupted(signum: int, frame: object) -> None:
        demo.stop.set()  # the simulation stops at its next step; the summary follows

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, interrupted)
    return demo.run()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `demo` command."""
    demo = subparsers.add_parser(
        "demo", help="serve the API with a simulated store network at work: orders, pickers, customers, RFID readers",
        description="Migrate and seed the configured database, start a private Mosquitto if installed, serve the API and pages, "
                    "and simulate the network's day over the real wire. Bounded with --duration (then a summary; exit 1 on a stock "
                    "drift or a server error), else until Ctrl-C.",
    )
    demo.add_argument("--speed", type=_positive, default=10.0, help="simulated seconds per wall-clock second (default 10)")
    demo.add_argument("--duration", type=duration, default=None, metavar="D", help="simulated time to run, e.g. 1h or 90m (default: until stopped)")
    demo.add_argument("--orders-per-hour", type=_positive, default=90.0, help="orders per simulated hour, network-wide (default 90)")
    demo.add_argument("--seed", type=int, default=1, help="the simulated people's random seed")
    demo.add_argument("--host", default=None, help="interface to bind (FULFIL_HOST, default 127.0.0.1)")
    demo.add_argument("--port", type=lambda t: 0 if t == "0" else _port(t), default=None, help="port (FULFIL_PORT, default 8000; 0: any free port)")
    demo.add_argument("--readers", choices=("auto", "mqtt", "http"), default="auto",
                      help="how the simulated readers reach the ingest: MQTT through FULFIL_MQTT_URL or a private Mosquitto, the HTTP "
                           "ingest route, or auto (MQTT when a broker can be had, else HTTP)")
    demo.add_argument("--summary-json", default=None, metavar="FILE", help="also write the summary as JSON to FILE")
    demo.set_defaults(func=_demo)

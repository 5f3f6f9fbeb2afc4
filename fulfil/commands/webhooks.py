"""`fulfil webhooks dispatch [--once]`: deliver the outbox's webhooks without the API (any number may run beside
`serve`'s own dispatcher); `fulfil webhooks prune`: delete events that are over."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from datetime import timedelta
from types import FrameType

from fulfil.commands._common import reporting_errors

DEFAULT_INTERVAL = 0.25  # when FULFIL_WEBHOOK_DISPATCH_INTERVAL_SECONDS is 0 (serve's dispatcher off)


@reporting_errors
def _dispatch(args: argparse.Namespace) -> int:
    from fulfil.config import get_settings
    from fulfil.db import engine_for, make_session_factory
    from fulfil.webhooks.dispatcher import DispatchLoop, Dispatcher

    settings = get_settings()
    engine = engine_for(settings)
    try:
        dispatcher = Dispatcher(make_session_factory(engine), settings)
        if args.once:
            try:
                dispatcher.drain()
            finally:
                dispatcher.close(settings.webhook_timeout_seconds)
            print(json.dumps(dispatcher.counters.snapshot()))
            return 0
        interval = args.interval or settings.webhook_dispatch_interval_seconds or DEFAULT_INTERVAL
        loop = DispatchLoop(dispatcher, interval, stop_timeout=settings.webhook_timeout_seconds + 5)

        def stop(_signum: int, _frame: FrameType | None) -> None:
            loop.request_stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        print(f"fulfil: dispatching webhooks as {dispatcher.name} (every {interval} s; Ctrl-C or SIGTERM stops)", file=sys.stderr, flush=True)
        loop.run()
        return 0
    finally:
        engine.dispose()


@reporting_errors
def _prune(args: argparse.Namespace) -> int:
    from fulfil.commands._common import session_for
    from fulfil.models.base import utcnow
    from fulfil.webhooks.repository import prune

    with session_for() as session:
        deleted = prune(session, utcnow() - timedelta(days=args.older_than_days))
    print(json.dumps({"deleted_events": deleted}))
    return 0


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 3600")
    return value


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of days: {text!r}") from None
    if not 1 <= value <= 36_500:
        raise argparse.ArgumentTypeError("must be 1 to 36500 days")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `webhooks` command group."""
    webhooks = subparsers.add_parser("webhooks", help="webhooks: deliver the outbox, prune delivered events")
    sub = webhooks.add_subparsers(dest="webhooks_command", metavar="ACTION", required=True)
    dispatch = sub.add_parser(
        "dispatch", help="deliver webhooks until stopped (SIGTERM, Ctrl-C), beside or instead of serve's dispatcher; "
        "--once: deliver what is due now, print what was done as JSON and exit",
    )
    dispatch.add_argument("--once", action="store_true", help="deliver what is due now and exit (retries due later stay for later)")
    dispatch.add_argument("--interval", type=_positive, default=None, metavar="SECONDS",
                          help="how often to look for work (default: FULFIL_WEBHOOK_DISPATCH_INTERVAL_SECONDS, or 0.25 when that is 0)")
    dispatch.set_defaults(func=_dispatch)
    prune = sub.add_parser("prune", help="delete events older than N days that are over (no delivery pending), with their "
                                         "deliveries and log; prints how many as JSON")
    prune.add_argument("--older-than-days", type=_days, required=True, metavar="DAYS")
    prune.set_defaults(func=_prune)

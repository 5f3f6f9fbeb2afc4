"""`fulfil pickups sweep`: send due pickup reminders and expire uncollected pickups now (cron, or by hand)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from fulfil.commands._common import reporting_errors


def _instant(text: str) -> datetime:
    """An ISO 8601 instant; one without a zone is UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date and time: {text!r}") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@reporting_errors
def _sweep(args: argparse.Namespace) -> int:
    from fulfil.config import get_settings
    from fulfil.db import make_engine, make_session_factory
    from fulfil.models.base import utcnow
    from fulfil.pickups.expiry import sweep

    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        hours = settings.pickup_reminder_hours if args.reminder_hours is None else args.reminder_hours
        swept = sweep(make_session_factory(engine), args.now or utcnow(), hours)
    finally:
        engine.dispose()
    print(json.dumps({"reminded": swept.reminded, "expired": swept.expired, "failed": swept.failed}))
    return 1 if swept.failed else 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `pickups` command group."""
    pickups = subparsers.add_parser("pickups", help="click and collect: reminders and expiry of uncollected pickups")
    sub = pickups.add_subparsers(dest="pickups_command", metavar="ACTION", required=True)
    sweep = sub.add_parser(
        "sweep", help="remind customers of pickups about to expire and expire those past their store's hold period; "
        "prints what it did as JSON, exits 1 if any pickup failed (logged)",
    )
    sweep.add_argument("--now", type=_instant, default=None, metavar="ISO-8601", help="the instant to sweep at (default: now)")
    sweep.add_argument("--reminder-hours", type=float, default=None, metavar="HOURS",
                       help="remind this long before expiry (default: FULFIL_PICKUP_REMINDER_HOURS)")
    sweep.set_defaults(func=_sweep)

"""`fulfil holds sweep`: release the units of expired checkout holds now (cron, or by hand)."""

from __future__ import annotations

import argparse
import json

from fulfil.commands._common import reporting_errors
from fulfil.commands.pickups import _instant


@reporting_errors
def _sweep(args: argparse.Namespace) -> int:
    from fulfil.config import get_settings
    from fulfil.db import make_engine, make_session_factory
    from fulfil.holds.service import sweep
    from fulfil.models.base import utcnow

    engine = make_engine(get_settings().database_url)
    try:
        swept = sweep(make_session_factory(engine), args.now or utcnow())
    finally:
        engine.dispose()
    print(json.dumps({"expired": swept.expired, "failed": swept.failed}))
    return 1 if swept.failed else 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `holds` command group."""
    holds = subparsers.add_parser("holds", help="checkout holds: release expired ones")
    sub = holds.add_subparsers(dest="holds_command", metavar="ACTION", required=True)
    sweep = sub.add_parser("sweep", help="release the units of every checkout hold past its expiry; prints them as JSON, exits 1 if one failed")
    sweep.add_argument("--now", type=_instant, default=None, metavar="ISO-8601", help="the instant to sweep at (default: now)")
    sweep.set_defaults(func=_sweep)

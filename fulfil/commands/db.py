"""`fulfil db upgrade|current|downgrade`: schema migrations."""

from __future__ import annotations

import argparse

from fulfil.config import get_settings


def _upgrade(args: argparse.Namespace) -> int:
    from fulfil import migrate

    migrate.upgrade(get_settings().database_url, args.revision)
    return 0


def _downgrade(args: argparse.Namespace) -> int:
    from fulfil import migrate

    migrate.downgrade(get_settings().database_url, args.revision)
    return 0


def _current(_args: argparse.Namespace) -> int:
    from fulfil import migrate

    migrate.current(get_settings().database_url)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `db` command group."""
    db = subparsers.add_parser("db", help="database schema migrations (FULFIL_DATABASE_URL)")
    sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = sub.add_parser("upgrade", help="migrate to the newest schema (or --revision)")
    up.add_argument("--revision", default="head")
    up.set_defaults(func=_upgrade)
    down = sub.add_parser("downgrade", help="migrate back to a revision")
    down.add_argument("revision")
    down.set_defaults(func=_downgrade)
    cur = sub.add_parser("current", help="print the schema revision")
    cur.set_defaults(func=_current)

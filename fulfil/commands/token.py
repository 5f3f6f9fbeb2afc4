"""`fulfil token create|list|revoke`: API tokens. The secret is printed once, on stdout, alone."""

from __future__ import annotations

import argparse
import sys

from fulfil.commands._common import reporting_errors, session_for
from fulfil.models import Role


@reporting_errors
def _create(args: argparse.Namespace) -> int:
    from fulfil.auth.service import create_token

    with session_for() as session:
        issued = create_token(session, role=Role(args.role), name=args.name or args.role, location_id=args.store)
        token_id = issued.token.id
    print(issued.secret)
    scope = f" for {args.store}" if args.store else ""
    print(f"created {args.role} token #{token_id}{scope}; it is shown once, keep it safe", file=sys.stderr)
    return 0


@reporting_errors
def _list(args: argparse.Namespace) -> int:
    from fulfil.auth.service import list_tokens

    with session_for() as session:
        for t in list_tokens(session, include_revoked=args.all):
            state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
            print(f"{t.id}\t{t.role.value}\t{t.location_id or '-'}\t{t.name}\t{t.token_prefix}…\t{state}")
    return 0


@reporting_errors
def _revoke(args: argparse.Namespace) -> int:
    from fulfil.auth.service import revoke_token

    with session_for() as session:
        revoke_token(session, args.token_id)
    print(f"token #{args.token_id} revoked", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `token` command group."""
    token = subparsers.add_parser("token", help="API tokens")
    sub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = sub.add_parser("create", help="issue a token (printed once on stdout)")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--store", default=None, help="location id: required for pickers (a store) and devices (any location)")
    create.add_argument("--name", default=None, help="a label for the token (who or what uses it)")
    create.set_defaults(func=_create)
    lst = sub.add_parser("list", help="list tokens (never their secrets)")
    lst.add_argument("--all", action="store_true", help="include revoked tokens")
    lst.set_defaults(func=_list)
    revoke = sub.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("token_id", type=int)
    revoke.set_defaults(func=_revoke)

"""`fulfil token create|list|revoke|demo`: API tokens. A secret is printed on stdout, alone."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.orm import Session

from fulfil.commands._common import reporting_errors, session_for
from fulfil.commands.secret_files import read_secret, write_secret
from fulfil.commands.serve import DEMO_DIR
from fulfil.errors import Unauthenticated
from fulfil.models import Role

# `make run` keeps its ops token here (owner-only) and reuses it while it is valid.
DEMO_TOKEN_FILE = DEMO_DIR / "demo-ops-token"
# The name of the demo's ops token: at most one token of this name is active, the one in the file.
DEMO_TOKEN_NAME = "demo-ops"


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


def demo_token(session: Session, path: Path) -> tuple[str, str]:
    """The demo's ops token: the one kept in `path` while it is valid, else a new one (earlier demo tokens revoked);
    the secret and a line saying which."""
    from fulfil.auth.service import authenticate, create_token, list_tokens, revoke_token

    kept = read_secret(path)
    if kept is not None:
        try:
            principal = authenticate(session, kept)
        except Unauthenticated:
            principal = None
        if principal is not None and principal.role is Role.OPS and principal.name == DEMO_TOKEN_NAME:
            return kept, f"demo ops token #{principal.token_id} from {path} is still valid: reused"
    # Earlier demo tokens (this file's, or minted by `make run` before it kept one) are revoked.
    earlier = [t.id for t in list_tokens(session) if t.name == DEMO_TOKEN_NAME]
    for token_id in earlier:
        revoke_token(session, token_id)
    issued = create_token(session, role=Role.OPS, name=DEMO_TOKEN_NAME)
    write_secret(path, issued.secret)  # inside the unit of work: a file that cannot be written mints nothing
    revoked = f"; revoked the earlier demo token(s) #{', #'.join(map(str, earlier))}" if earlier else ""
    return issued.secret, f"created demo ops token #{issued.token.id}, kept in {path} (owner-only){revoked}"


@reporting_errors
def _demo(args: argparse.Namespace) -> int:
    with session_for() as session:
        secret, note = demo_token(session, Path(args.file))
    print(secret)
    print(note, file=sys.stderr)
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
    demo = sub.add_parser("demo", help="the demo's ops token: reused from its file while valid, else a new one (earlier ones revoked)")
    demo.add_argument("--file", default=str(DEMO_TOKEN_FILE), help=f"where the token is kept (default {DEMO_TOKEN_FILE}, mode 0600)")
    demo.set_defaults(func=_demo)

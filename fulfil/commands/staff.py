"""`fulfil staff add|demo`: store staff and their PINs. A PIN is printed on stdout, alone, once."""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

from sqlalchemy.orm import Session

from fulfil.commands._common import reporting_errors, session_for
from fulfil.commands.serve import DEMO_DIR
from fulfil.commands.secret_files import read_secret, write_secret
from fulfil.errors import Conflict

# `make run` keeps its demo staff member's PIN here (owner-only) and reuses it while it still signs in.
DEMO_PIN_FILE = DEMO_DIR / "demo-staff-pin"
DEMO_STORE = "ST-LYON-01"
DEMO_STAFF_NAME = "Demo staff"
ATTEMPTS = 20  # a drawn PIN already used at the store is drawn again


def _draw() -> str:
    return f"{secrets.randbelow(10**6):06d}"


@reporting_errors
def _add(args: argparse.Namespace) -> int:
    from fulfil.staff import service
    from fulfil.staff.schemas import StaffCreate

    for _ in range(ATTEMPTS):
        pin = _draw()
        try:
            with session_for() as session:
                member = service.create(session, StaffCreate(location_id=args.store, name=args.name, pin=pin))
                member_id = member.id
        except Conflict as exc:
            if exc.code == "pin_taken":
                continue
            raise
        print(pin)
        print(f"added staff member #{member_id} {args.name} at {args.store}; the PIN is shown once", file=sys.stderr)
        return 0
    raise Conflict(f"no free PIN found in {ATTEMPTS} draws at {args.store}", code="pin_taken")


def demo_pin(session: Session, path: Path) -> tuple[str, str]:
    """The demo staff member's PIN at the demo store: the one kept in `path` while it signs in, else a new one; the
    PIN and a line saying which."""
    from sqlalchemy import select

    from fulfil.models import Location, StaffMember
    from fulfil.models.base import utcnow
    from fulfil.staff import repository, service
    from fulfil.staff.schemas import StaffCreate, StaffUpdate

    store = session.get(Location, DEMO_STORE)
    if store is None:
        raise Conflict(f"the demo store {DEMO_STORE} is missing: run `fulfil seed --demo` first", code="no_demo")
    key = repository.pin_key(session)
    kept = read_secret(path)
    member = session.scalars(select(StaffMember).where(StaffMember.location_id == DEMO_STORE, StaffMember.name == DEMO_STAFF_NAME)).first()
    if kept is not None and member is not None and member.active and member.pin_digest == service.digest(key, DEMO_STORE, kept):
        return kept, f"demo staff PIN for {store.name} ({DEMO_STORE}) from {path} still signs in: reused"
    for _ in range(ATTEMPTS):
        pin = _draw()
        try:
            with session.begin_nested():
                if member is None:
                    member = service.create(session, StaffCreate(location_id=DEMO_STORE, name=DEMO_STAFF_NAME, pin=pin))
                else:
                    service.update(session, member.id, StaffUpdate(pin=pin, active=True), utcnow())
        except Conflict as exc:
            if exc.code == "pin_taken":
                continue
            raise
        write_secret(path, pin)  # inside the unit of work: a file that cannot be written sets nothing
        return pin, f"demo staff PIN for {store.name} ({DEMO_STORE}), kept in {path} (owner-only)"
    raise Conflict(f"no free PIN found in {ATTEMPTS} draws at {DEMO_STORE}", code="pin_taken")


@reporting_errors
def _demo(args: argparse.Namespace) -> int:
    with session_for() as session:
        pin, note = demo_pin(session, Path(args.file))
    print(pin)
    print(note, file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `staff` command group."""
    staff = subparsers.add_parser("staff", help="store staff and their PINs (the store app's sign-in)")
    sub = staff.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="add a member of a store's staff with a new random PIN (printed once on stdout)")
    add.add_argument("--store", required=True, help="the store's location id")
    add.add_argument("--name", required=True, help="how the app greets them")
    add.set_defaults(func=_add)
    demo = sub.add_parser("demo", help=f"the demo's staff member at {DEMO_STORE}: its PIN reused from its file while it signs in, else a new one")
    demo.add_argument("--file", default=str(DEMO_PIN_FILE), help=f"where the PIN is kept (default {DEMO_PIN_FILE}, mode 0600)")
    demo.set_defaults(func=_demo)

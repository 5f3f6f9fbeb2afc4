"""`fulfil stock check`: the stock invariant over the whole database, for ops (exit 1 when the books drift)."""

from __future__ import annotations

import argparse
import sys

from fulfil.commands._common import reporting_errors, session_for


@reporting_errors
def _check(args: argparse.Namespace) -> int:
    from fulfil.stock.invariant import check

    with session_for() as session:
        drifts = check(session)
    for drift in drifts:
        print(drift.describe())
    if drifts:
        pairs = len({(d.location_id, d.gtin) for d in drifts})
        print(f"fulfil: stock drift: {len(drifts)} quantities in {pairs} (location, GTIN) pairs disagree", file=sys.stderr)
        return 1
    print("stock is consistent: every reservation is held by an open shipment and the event log sums to every level", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `stock` command group."""
    stock = subparsers.add_parser("stock", help="stock checks")
    sub = stock.add_subparsers(dest="stock_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="verify reservations and the event log against stock levels; exit 1 on drift")
    check.set_defaults(func=_check)

"""`fulfil seed --demo`: load the demo network (idempotent)."""

from __future__ import annotations

import argparse
import sys

from fulfil.commands._common import reporting_errors, session_for


@reporting_errors
def _seed(args: argparse.Namespace) -> int:
    if not args.demo:
        print("fulfil: nothing to seed: pass --demo", file=sys.stderr)
        return 2
    from fulfil.config import get_settings
    from fulfil.demo import seed_demo

    with session_for() as session:
        report = seed_demo(session, get_settings())
    if report.locations == 0:
        print("demo data already present: nothing changed", file=sys.stderr)
    else:
        print(
            f"seeded {report.locations} locations, {report.products} products, "
            f"{report.stock_records} stock records, {report.orders} orders (routed on intake)",
            file=sys.stderr,
        )
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `seed` command."""
    seed = subparsers.add_parser("seed", help="load data")
    seed.add_argument("--demo", action="store_true", help="the demo network: warehouses, stores, products, stock, orders")
    seed.set_defaults(func=_seed)

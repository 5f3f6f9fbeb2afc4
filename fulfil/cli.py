"""The `fulfil` command: one argparse tree, each command group in fulfil/commands/."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module here exposes `register(subparsers)`; it adds its sub-commands and
# sets `func` on each parser to a callable taking the parsed namespace and
# returning an exit status. Modules are imported lazily-ish (all at start-up,
# but each keeps its heavy imports inside its handlers).
COMMAND_MODULES = (
    "fulfil.commands.db",
    "fulfil.commands.serve",
    "fulfil.commands.demo",
    "fulfil.commands.token",
    "fulfil.commands.staff",
    "fulfil.commands.seed",
    "fulfil.commands.stock",
    "fulfil.commands.ingest",
    "fulfil.commands.epc",
    "fulfil.commands.rfid",
    "fulfil.commands.routing",
    "fulfil.commands.pickups",
    "fulfil.commands.holds",
    "fulfil.commands.feed",
    "fulfil.commands.webhooks",
)


def build_parser(modules: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """Build the argument parser from the given command modules (default: every one present)."""
    parser = argparse.ArgumentParser(prog="fulfil", description="Fulfil: ship-from-store fulfilment and RFID service.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a command group not written yet
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `fulfil` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser_for(argv)
    args = parser.parse_args(argv)
    try:
        status = args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return int(status or 0)


def _parser_for(argv: list[str]) -> argparse.ArgumentParser:
    """Only the named command group's module when it has one of its own: `fulfil routing solve` then does not pay
    for importing the service (its time limit covers the whole command)."""
    own = f"fulfil.commands.{argv[0]}" if argv else ""
    if own in COMMAND_MODULES:
        parser = build_parser((own,))
        if argv[0] in parser._subparsers._group_actions[0].choices:  # type: ignore[union-attr]
            return parser
    return build_parser()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

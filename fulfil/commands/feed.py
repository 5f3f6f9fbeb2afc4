"""`fulfil feed export`: the local inventory feed to a file, for a scheduled upload to Google (docs/feeds.md).

The file is written beside its name and renamed into place only when complete, so an upload job never picks up a
feed cut short; the cursor file is updated only then too, so an export that fails is simply run again."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from fulfil.commands._common import reporting_errors


def _write_atomically(path: Path, chunks: Iterator[str]) -> None:
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as out:
        for chunk in chunks:
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)


@reporting_errors
def _export(args: argparse.Namespace) -> int:
    from fulfil.config import get_settings
    from fulfil.db import make_engine, make_session_factory, snapshot_session
    from fulfil.errors import InvalidInput
    from fulfil.feeds import formats, service

    since = args.since
    if args.incremental:
        if args.cursor_file is None or not args.cursor_file.exists():
            raise InvalidInput("--incremental needs the --cursor-file a full export wrote: run a full export first")
        since = args.cursor_file.read_text().strip()
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        factory = make_session_factory(engine)
        with snapshot_session(factory) as session:
            start = service.start(session, settings, since)
        counted = 0

        def rows() -> Iterator[service.FeedRow]:
            nonlocal counted
            with snapshot_session(factory) as session:
                for row in service.rows(session, settings, start.since):
                    counted += 1
                    yield row

        if args.format == "tsv":
            chunks = formats.tsv(rows())
        else:
            chunks = formats.json_document(rows(), str(start.cursor), since)
        if args.output is None:
            for chunk in chunks:
                sys.stdout.write(chunk)
            sys.stdout.flush()
        else:
            _write_atomically(args.output, chunks)
    finally:
        engine.dispose()
    if args.cursor_file is not None:
        _write_atomically(args.cursor_file, iter([str(start.cursor) + "\n"]))
    summary = json.dumps({"rows": counted, "cursor": str(start.cursor), "since": since, "output": str(args.output) if args.output else None})
    print(summary, file=sys.stderr if args.output is None else sys.stdout)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `feed` command group."""
    feed = subparsers.add_parser("feed", help="the local inventory feed (Google local inventory ads)")
    sub = feed.add_subparsers(dest="feed_command", metavar="ACTION", required=True)
    export = sub.add_parser(
        "export", help="write the local inventory feed (full, or the changes since a cursor) to a file or stdout; "
        "prints rows, cursor and file as JSON (on stderr when the feed goes to stdout)",
    )
    export.add_argument("--format", choices=("tsv", "json"), default="tsv", help="Google's tab-separated file (default) or JSON")
    export.add_argument("--output", type=Path, default=None, metavar="FILE", help="write here, renamed into place when complete (default: stdout)")
    export.add_argument("--cursor-file", type=Path, default=None, metavar="FILE", help="write the cursor here once the feed is complete")
    which = export.add_mutually_exclusive_group()
    which.add_argument("--since", default=None, metavar="CURSOR", help="only the rows that may have changed since this cursor")
    which.add_argument("--incremental", action="store_true", help="only the rows changed since the cursor in --cursor-file")
    export.set_defaults(func=_export)

"""`fulfil rfid ...`: RFID tools that need no database (parse reader payloads; more sub-commands join the group)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from rfid.payloads import FORMATS, parser_for
from rfid.reads import ParseResult, ReaderEvent, Rejection, TagRead

EXIT_OK = 0
EXIT_REJECTED = 1  # some input was rejected (each rejection was printed as {"error": ...})
EXIT_USAGE = 2


def register(subparsers: Any) -> None:
    """Add the `rfid` command group and its sub-commands."""
    parser = subparsers.add_parser("rfid", help="RFID tools: parse reader payloads into normalised reads")
    group = parser.add_subparsers(dest="rfid_command", metavar="SUBCOMMAND")
    group.required = True
    _add_parse(group)
    from fulfil.commands.rfid_frames import add_frames  # here: rfid_frames imports this module's helpers

    add_frames(group)


def _add_parse(group: Any) -> None:
    parser = group.add_parser(
        "parse",
        help="reader payloads (Impinj, Zebra IoT Connector, text lines) -> one JSON object per read",
        description=(
            "Input: one JSON payload per line, a whole-file JSON object or array, or text lines "
            "(hex EPC, optional antenna and RSSI columns). Prints one JSON object per read and one "
            '{"error": ...} object per rejected payload. Exit status 1 if anything was rejected.'
        ),
    )
    parser.add_argument("--format", choices=("auto", *FORMATS), default="auto", help="payload format (default: detect)")
    parser.add_argument("--reader", default=None, help="reader id for every read (overrides the payload's hostname)")
    parser.add_argument("--events", action="store_true", help="also print reader events (antenna, overflow ...)")
    parser.add_argument("file", nargs="?", default="-", help="input file, or - for standard input (default)")
    parser.set_defaults(func=run_parse)


def run_parse(args: argparse.Namespace) -> int:
    """Handler of `fulfil rfid parse`."""
    try:
        data = _read_input(args.file)
    except OSError as exc:
        print(f"fulfil rfid parse: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    received_at = datetime.now(UTC)
    rejected = False
    out = sys.stdout
    parser = parser_for(args.format)
    assert parser is not None  # argparse choices guarantee a known format
    for line_number, payload in split_payloads(data, args.format):
        result: ParseResult = parser(payload, reader=args.reader, received_at=received_at)
        for read in result.reads:
            out.write(json.dumps(read_json(read)) + "\n")
        if args.events:
            for event in result.events:
                out.write(json.dumps(event_json(event)) + "\n")
        for rejection in result.rejections:
            rejected = True
            out.write(json.dumps(rejection_json(rejection, line_number)) + "\n")
    out.flush()
    return EXIT_REJECTED if rejected else EXIT_OK


def _read_input(name: str) -> bytes:
    if name == "-":
        stream: BinaryIO = sys.stdin.buffer
        return stream.read()
    with open(name, "rb") as handle:
        return handle.read()


def split_payloads(data: bytes, fmt: str) -> Iterator[tuple[int | None, bytes]]:
    """(line number or None, payload) pairs: a whole JSON document, one JSON payload per line, or all the text."""
    stripped = data.strip()
    if fmt == "text" or stripped[:1] not in (b"{", b"["):
        if fmt in ("text", "auto"):
            yield None, data  # the text parser numbers lines itself
            return
    else:
        try:
            json.loads(stripped)
        except (ValueError, RecursionError):
            pass  # not one document: fall through to JSON lines
        else:
            yield None, stripped
            return
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip():
            yield number, line


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment is not None else None


def read_json(read: TagRead) -> dict[str, Any]:
    """The CLI's JSON object for one read."""
    return {
        "epc": read.epc,
        "reader": read.reader,
        "antenna": read.antenna,
        "rssi_dbm": read.rssi_dbm,
        "seen_at": _iso(read.seen_at),
        "count": read.count,
        "seq": read.seq,
        "frequency_khz": read.frequency_khz,
        "phase_deg": read.phase_deg,
        "frequency_index": read.frequency_index,
    }


def event_json(event: ReaderEvent) -> dict[str, Any]:
    """The CLI's JSON object for one reader event."""
    return {"event": event.kind.value, "reader": event.reader, "antenna": event.antenna, "detail": event.detail, "at": _iso(event.at)}


def rejection_json(rejection: Rejection, line_number: int | None) -> dict[str, Any]:
    """The CLI's JSON object for one rejected payload (with its line, and element index in an array)."""
    out: dict[str, Any] = {"error": rejection.reason}
    line = line_number if line_number is not None else (rejection.index if rejection.source == "text" else None)
    if line is not None:
        out["line"] = line
    if rejection.index is not None and rejection.source != "text":
        out["index"] = rejection.index
    return out

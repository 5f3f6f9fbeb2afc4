"""`fulfil rfid frames`: decode captured serial reader bytes into one JSON object per read, frame event or error."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from fulfil.commands.rfid import EXIT_OK, EXIT_REJECTED, EXIT_USAGE, _iso, _read_input, read_json
from hardware.serial import PROTOCOLS, make_protocol
from hardware.serial.framing import Decoded, event_name
from rfid.reads import ReaderEvent, TagRead

_HEX_NOISE = re.compile(r"#[^\n]*|0[xX](?=[0-9A-Fa-f])|[\s:,]+")
CHUNK = 4096  # feed like a serial port would: framing must not care where chunks end


def add_frames(group: Any) -> None:
    """Add `fulfil rfid frames` to the `rfid` command group."""
    parser = group.add_parser(
        "frames",
        help="captured serial reader bytes -> one JSON object per read, frame event or error",
        description=(
            "Input: bytes captured from a serial reader (a binary file, or hex text with --hex). "
            'Prints one JSON object per read, per frame event ({"event": "keepalive"}, "end_of_round", '
            '"reader_serial" ...) and per discarded span ({"error": "bad_crc" | "truncated" | "noise" | ...}). '
            "Counters go to standard error. Exit status 1 if anything was discarded."
        ),
    )
    parser.add_argument("--protocol", required=True, choices=tuple(PROTOCOLS), help="the reader's serial protocol")
    parser.add_argument("--hex", action="store_true", help="input is hex text (blanks, colons, 0x and # comments ignored)")
    parser.add_argument("--reader", default=None, help="reader id for every read (default: the serial number it reports)")
    parser.add_argument("file", nargs="?", default="-", help="input file, or - for standard input (default)")
    parser.set_defaults(func=run_frames)


def run_frames(args: argparse.Namespace) -> int:
    """Handler of `fulfil rfid frames`."""
    try:
        data = _read_input(args.file)
    except OSError as exc:
        print(f"fulfil rfid frames: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.hex:
        try:
            data = bytes.fromhex(_HEX_NOISE.sub("", data.decode("ascii", "replace")))
        except ValueError as exc:
            print(f"fulfil rfid frames: not hex: {exc}", file=sys.stderr)
            return EXIT_USAGE
    protocol = make_protocol(args.protocol, reader=args.reader)
    rejected = False
    out = sys.stdout
    for start in range(0, len(data), CHUNK):
        rejected |= _write(out, protocol.feed(data[start : start + CHUNK]))
    rejected |= _write(out, protocol.flush())
    out.flush()
    print(json.dumps({"stats": protocol.stats.as_dict()}), file=sys.stderr)
    return EXIT_REJECTED if rejected else EXIT_OK


def frame_json(item: Decoded) -> dict[str, Any]:
    """The CLI's JSON object for one decoded item: a read, a frame event, or an error."""
    if isinstance(item, TagRead):
        return read_json(item)
    if isinstance(item, ReaderEvent):
        name = event_name(item)
        rest = (item.detail or "").partition(" ")[2]
        return {"event": name, "reader": item.reader, "antenna": item.antenna, "detail": rest or None, "at": _iso(item.at)}
    return {"error": item.reason, "bytes": len(item.raw), **({"line": item.index} if item.index is not None else {})}


def _write(out: Any, items: list[Decoded]) -> bool:
    rejected = False
    for item in items:
        payload = frame_json(item)
        rejected |= "error" in payload
        out.write(json.dumps(payload) + "\n")
    return rejected

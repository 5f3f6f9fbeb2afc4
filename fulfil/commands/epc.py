"""`fulfil epc ...`: decode EPC hex into JSON, and encode GTIN/SSCC/tag URIs into EPC hex (no database)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from rfid.epc import Epc, EpcError, decode_epc, encode_sgtin96, encode_sgtin198, encode_sscc96, encode_uri

EXIT_OK = 0
EXIT_UNDECODABLE = 1  # some input had an error (each printed with its reason)
EXIT_USAGE = 2


def register(subparsers: Any) -> None:
    """Add the `epc` command group with `decode` and `encode`."""
    parser = subparsers.add_parser("epc", help="EPC Tag Data Standard codec: SGTIN-96, SGTIN-198, SSCC-96")
    group = parser.add_subparsers(dest="epc_command", metavar="SUBCOMMAND")
    group.required = True

    decode = group.add_parser(
        "decode",
        help="EPC hex -> one JSON object per input",
        description=(
            "Decode each HEX argument, or each non-blank line of standard input when none is given. "
            "Prints one JSON object per input (hex, scheme, filter, company_prefix, gs1_key, serial, "
            "tag_uri, pure_uri, and error when it cannot be decoded). Exit status 1 if any input had an error."
        ),
    )
    decode.add_argument("hex", nargs="*", metavar="HEX", help="EPC in hex (spaces and 0x are ignored)")
    decode.set_defaults(func=run_decode)

    encode = group.add_parser(
        "encode",
        help="GTIN + serial, SSCC, or a tag URI -> EPC hex",
        description="Encode an SGTIN-96/198 from a GTIN and serial, an SSCC-96 from an SSCC, or any of them from a tag URI.",
    )
    source = encode.add_mutually_exclusive_group(required=True)
    source.add_argument("--gtin", help="GTIN-8/12/13/14 with its check digit")
    source.add_argument("--sscc", help="SSCC-18 with its check digit")
    source.add_argument("--uri", help="tag URI, e.g. urn:epc:tag:sgtin-96:1.0614141.812345.6789")
    encode.add_argument("--serial", help="serial: a decimal number for sgtin-96, 1-20 AI 82 characters for sgtin-198")
    encode.add_argument("--company-prefix-length", type=int, metavar="L", help="digits of the GS1 company prefix (6-12)")
    encode.add_argument("--filter", type=int, metavar="F", help="filter value 0-7 (default 1 for SGTIN, 0 for SSCC)")
    encode.add_argument("--scheme", choices=("sgtin-96", "sgtin-198"), default="sgtin-96", help="SGTIN encoding (default sgtin-96)")
    encode.add_argument("--hex-digits", type=int, choices=(50, 52), default=52, help="SGTIN-198 hex length (default 52: whole 16-bit words)")
    encode.add_argument("--hex-only", action="store_true", help="print only the hex, not the decoded JSON object")
    encode.set_defaults(func=run_encode)


def epc_json(epc: Epc) -> dict[str, Any]:
    """The CLI's JSON object for one decoded EPC (`error` only when there is one)."""
    out: dict[str, Any] = {
        "hex": epc.hex,
        "scheme": epc.scheme,
        "filter": epc.filter,
        "company_prefix": epc.company_prefix,
        "gs1_key": epc.gs1_key,
        "serial": epc.serial,
        "tag_uri": epc.tag_uri,
        "pure_uri": epc.pure_uri,
    }
    if epc.error is not None:
        out["error"] = epc.error
    return out


def _stdin_values(stream: Iterable[bytes]) -> Iterator[str]:
    # Bytes, decoded leniently: a line of binary junk is reported as not hexadecimal, not a crash.
    for raw in stream:
        line = raw.decode("utf-8", "replace")
        if line.strip():
            yield line


def run_decode(args: argparse.Namespace) -> int:
    """Handler of `fulfil epc decode`."""
    values: Iterable[str] = args.hex if args.hex else _stdin_values(sys.stdin.buffer)
    status = EXIT_OK
    for value in values:
        epc = decode_epc(value)
        if epc.error is not None:
            status = EXIT_UNDECODABLE
        sys.stdout.write(json.dumps(epc_json(epc)) + "\n")
    return status


def _encode(args: argparse.Namespace) -> str:
    if args.uri is not None:
        if args.serial is not None or args.company_prefix_length is not None or args.filter is not None:
            raise EpcError("--uri carries filter, company prefix and serial itself; do not combine it with them")
        return encode_uri(args.uri, args.hex_digits)
    if args.company_prefix_length is None:
        raise EpcError("--company-prefix-length is required with --gtin or --sscc")
    if args.sscc is not None:
        if args.serial is not None:
            raise EpcError("an SSCC carries its serial reference; --serial applies to --gtin only")
        return encode_sscc96(args.sscc, args.company_prefix_length, 0 if args.filter is None else args.filter)
    if args.serial is None:
        raise EpcError("--serial is required with --gtin")
    filter_value = 1 if args.filter is None else args.filter
    if args.scheme == "sgtin-198":
        return encode_sgtin198(args.gtin, args.serial, args.company_prefix_length, filter_value, args.hex_digits)
    serial: str = args.serial
    # TDS: an SGTIN-96 serial is a decimal integer without leading zeros; "0012" would come back as "12".
    if not (serial.isascii() and serial.isdigit()) or (len(serial) > 1 and serial[0] == "0"):
        raise EpcError(f"sgtin-96 serial must be a decimal number without leading zeros, got {serial!r} (use --scheme sgtin-198)")
    return encode_sgtin96(args.gtin, int(serial), args.company_prefix_length, filter_value)


def run_encode(args: argparse.Namespace) -> int:
    """Handler of `fulfil epc encode`."""
    try:
        hex_value = _encode(args)
    except EpcError as exc:
        print(f"fulfil epc encode: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write((hex_value if args.hex_only else json.dumps(epc_json(decode_epc(hex_value)))) + "\n")
    return EXIT_OK

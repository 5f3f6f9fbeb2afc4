"""GS1 rules the codec needs: partition tables, check digits, the AI 82 character set, URI escapes."""

from __future__ import annotations

from typing import NamedTuple

from rfid.epc.model import EpcError


class Partition(NamedTuple):
    """One row of a TDS partition table: prefix bits/digits, reference bits/digits."""

    prefix_bits: int
    prefix_digits: int
    reference_bits: int
    reference_digits: int


# TDS 1.13 table 14-2 (SGTIN): company prefix + indicator/item reference = 13 digits in 44 bits.
SGTIN_PARTITIONS: tuple[Partition, ...] = (
    Partition(40, 12, 4, 1),
    Partition(37, 11, 7, 2),
    Partition(34, 10, 10, 3),
    Partition(30, 9, 14, 4),
    Partition(27, 8, 17, 5),
    Partition(24, 7, 20, 6),
    Partition(20, 6, 24, 7),
)

# TDS 1.13 table 14-5 (SSCC): company prefix + extension/serial reference = 17 digits in 58 bits.
SSCC_PARTITIONS: tuple[Partition, ...] = (
    Partition(40, 12, 18, 5),
    Partition(37, 11, 21, 6),
    Partition(34, 10, 24, 7),
    Partition(30, 9, 28, 8),
    Partition(27, 8, 31, 9),
    Partition(24, 7, 34, 10),
    Partition(20, 6, 38, 11),
)

SGTIN_FIELD_BITS = 44
SSCC_FIELD_BITS = 58
SGTIN96_SERIAL_BITS = 38
SGTIN198_SERIAL_CHARS = 20
CHAR_BITS = 7


def partition_for_prefix_length(table: tuple[Partition, ...], prefix_digits: int) -> int:
    """The partition value whose company prefix has `prefix_digits` digits (6 to 12)."""
    for value, row in enumerate(table):
        if row.prefix_digits == prefix_digits:
            return value
    raise EpcError(f"company prefix length must be 6 to 12 digits, got {prefix_digits}")


def gtin_check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit for a key body (GTIN-8/12/13/14 or SSCC without its check digit)."""
    if not digits or not digits.isascii() or not digits.isdigit():
        raise EpcError(f"check digit needs a string of decimal digits, got {digits!r}")
    # Weights alternate 3, 1, 3 … starting from the rightmost digit of the body.
    total = 3 * sum(map(int, digits[-1::-2])) + sum(map(int, digits[-2::-2]))
    return (10 - total % 10) % 10


def check_key(key: str, length: int, name: str) -> str:
    """Validate a GS1 key of `length` digits (its check digit included) and return it."""
    if not isinstance(key, str) or not key.isascii() or not key.isdigit():
        raise EpcError(f"{name} must be decimal digits, got {key!r}")
    if len(key) != length:
        raise EpcError(f"{name} must have {length} digits, got {len(key)}")
    expected = gtin_check_digit(key[:-1])
    if int(key[-1]) != expected:
        raise EpcError(f"{name} {key} has check digit {key[-1]}, expected {expected}")
    return key


def normalise_gtin(gtin: str) -> str:
    """A GTIN-8/12/13/14 as a checked GTIN-14 (left-padded with zeros)."""
    if not isinstance(gtin, str):
        raise EpcError(f"GTIN must be a string of digits, got {type(gtin).__name__}")
    if len(gtin) not in (8, 12, 13, 14):
        raise EpcError(f"GTIN must have 8, 12, 13 or 14 digits, got {len(gtin)}")
    return check_key(gtin.zfill(14), 14, "GTIN")


# GS1 AI encodable character set 82 (GS1 General Specifications figure 7.11-1), by code point.
AI82_CHARACTERS = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
AI82_CODES = frozenset(ord(c) for c in AI82_CHARACTERS)

# Characters the TDS URI grammar writes as %xx (TDS 1.13 table A-1).
URI_ESCAPES: dict[str, str] = {c: f"%{ord(c):02X}" for c in "\"%&/<>?"}
URI_UNESCAPES: dict[str, str] = {v: k for k, v in URI_ESCAPES.items()}


def escape_serial(text: str) -> str:
    """The URI form of an SGTIN-198 serial: `"%&/<>?` written as %xx."""
    return "".join(URI_ESCAPES.get(c, c) for c in text)


def unescape_serial(uri_text: str) -> str:
    """The plain text of a URI serial; only the seven TDS escapes are allowed, raw specials are not."""
    out: list[str] = []
    i = 0
    while i < len(uri_text):
        c = uri_text[i]
        if c == "%":
            escape = uri_text[i : i + 3].upper()
            if escape not in URI_UNESCAPES:
                raise EpcError(f"invalid escape {uri_text[i:i + 3]!r} in serial {uri_text!r}")
            out.append(URI_UNESCAPES[escape])
            i += 3
            continue
        if c in URI_ESCAPES or c not in AI82_CHARACTERS:
            raise EpcError(f"character {c!r} is not allowed in a URI serial (escape it or use AI 82 characters)")
        out.append(c)
        i += 1
    return "".join(out)

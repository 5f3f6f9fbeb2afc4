"""Turning what readers report (hex text with noise, or raw bytes) into clean upper-case hex."""

from __future__ import annotations

import string

from rfid.epc.model import Problem

_HEX_DIGITS = frozenset(string.hexdigits)


def normalise_hex(value: object) -> tuple[str, Problem]:
    """Clean hex (no whitespace, no 0x, upper-case) and the problem that makes it unusable, if any."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        # Raw bytes are the EPC bank itself, as serial drivers hand it over.
        raw = bytes(value)
        return raw.hex().upper(), (Problem.NONE if raw else Problem.EMPTY)
    if not isinstance(value, str):
        return repr(value), Problem.NOT_HEX
    text = "".join(value.split())  # readers and people space-separate bytes or words
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    if not text:
        return text, Problem.EMPTY
    # isascii() first: str.upper() maps some non-ASCII letters (e.g. U+FB00) onto "FF".
    if not text.isascii() or not _HEX_DIGITS.issuperset(text):
        return text, Problem.NOT_HEX
    text = text.upper()
    if len(text) % 2:
        return text, Problem.ODD_LENGTH
    return text, Problem.NONE

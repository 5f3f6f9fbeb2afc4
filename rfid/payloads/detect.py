"""Choosing a parser: by name, or by sniffing the payload (`auto`)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from rfid.payloads.impinj import parse_impinj
from rfid.payloads.text import parse_text
from rfid.payloads.zebra import parse_zebra
from rfid.reads import ParseResult

FORMATS = ("impinj", "zebra", "text")


class PayloadParser(Protocol):
    """What every payload parser looks like: bytes in, a result out, never an exception."""

    def __call__(self, payload: bytes, *, reader: str | None = None, received_at: datetime | None = None) -> ParseResult: ...


PARSERS: dict[str, PayloadParser] = {"impinj": parse_impinj, "zebra": parse_zebra, "text": parse_text}


def detect_format(payload: bytes) -> str:
    """`impinj`, `zebra` or `text`, from the payload's shape (cheap byte sniffing, no JSON parse)."""
    head = payload.lstrip()[:1]
    if head not in (b"{", b"["):
        return "text"
    # Zebra reports wrap the tag in "data" with "idHex"; Impinj events never use those names.
    if b'"idHex"' in payload or b'"data"' in payload:
        return "zebra"
    return "impinj"


def parser_for(fmt: str) -> PayloadParser | None:
    """The parser for a format name (`auto` included), or None for an unknown name."""
    if fmt == "auto":
        return parse_auto
    return PARSERS.get(fmt)


def parse_auto(payload: bytes, *, reader: str | None = None, received_at: datetime | None = None) -> ParseResult:
    """Parse a payload of any supported format, detected from its content."""
    return PARSERS[detect_format(payload)](payload, reader=reader, received_at=received_at)


def parse_payload(payload: bytes, fmt: str = "auto", *, reader: str | None = None, received_at: datetime | None = None) -> ParseResult:
    """Parse one payload in the named format (`auto`, `impinj`, `zebra`, `text`); unknown names raise ValueError."""
    parser = parser_for(fmt)
    if parser is None:
        raise ValueError(f"unknown reader format {fmt!r}; expected auto or one of {', '.join(FORMATS)}")
    return parser(payload, reader=reader, received_at=received_at)

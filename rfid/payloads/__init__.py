"""Reader payload parsers: bytes from MQTT or a serial line -> TagRead, ReaderEvent and Rejection lists."""

from rfid.payloads.detect import (
    FORMATS,
    PARSERS,
    PayloadParser,
    detect_format,
    parse_auto,
    parse_payload,
    parser_for,
)
from rfid.payloads.fields import parse_timestamp
from rfid.payloads.impinj import parse_impinj
from rfid.payloads.status import parse_status
from rfid.payloads.text import parse_text
from rfid.payloads.zebra import parse_zebra

__all__ = [
    "FORMATS",
    "PARSERS",
    "PayloadParser",
    "detect_format",
    "parse_auto",
    "parse_impinj",
    "parse_payload",
    "parse_status",
    "parse_text",
    "parse_timestamp",
    "parse_zebra",
    "parser_for",
]

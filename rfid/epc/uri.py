"""Encoding from EPC tag URIs (TDS 1.13 section 12): urn:epc:tag:<scheme>:<filter>.<fields>."""

from __future__ import annotations

from rfid.epc.gs1 import gtin_check_digit, unescape_serial
from rfid.epc.model import EpcError
from rfid.epc.sgtin import encode_sgtin96, encode_sgtin198
from rfid.epc.sscc import encode_sscc96

_TAG_PREFIX = "urn:epc:tag:"


def _digits(text: str, what: str) -> str:
    if not text.isascii() or not text.isdigit():
        raise EpcError(f"{what} must be decimal digits, got {text!r}")
    return text


def _filter(text: str) -> int:
    if len(text) != 1 or text not in "01234567":
        raise EpcError(f"filter must be one digit 0 to 7, got {text!r}")
    return int(text)


def _prefix_and_reference(prefix: str, reference: str, total: int, what: str) -> str:
    """The key body (reference's first digit + prefix + rest of reference), lengths checked."""
    _digits(prefix, "company prefix")
    _digits(reference, what)
    if not 6 <= len(prefix) <= 12:
        raise EpcError(f"company prefix must have 6 to 12 digits, got {len(prefix)}")
    if len(prefix) + len(reference) != total:
        raise EpcError(f"company prefix and {what} must have {total} digits together, got {len(prefix) + len(reference)}")
    return reference[0] + prefix + reference[1:]


def encode_uri(uri: str, sgtin198_hex_digits: int = 52) -> str:
    """The hex EPC of an SGTIN-96, SGTIN-198 (50 or 52 hex digits) or SSCC-96 tag URI."""
    if not isinstance(uri, str) or uri[: len(_TAG_PREFIX)].lower() != _TAG_PREFIX:
        raise EpcError(f"not an EPC tag URI (urn:epc:tag:…): {uri!r}")
    scheme, sep, rest = uri[len(_TAG_PREFIX) :].partition(":")
    if not sep:
        raise EpcError(f"tag URI has no fields: {uri!r}")
    scheme = scheme.lower()
    if scheme in ("sgtin-96", "sgtin-198"):
        parts = rest.split(".", 3)  # an SGTIN-198 serial may itself contain dots
        if len(parts) != 4:
            raise EpcError(f"{scheme} tag URI needs filter.prefix.item.serial, got {rest!r}")
        filter_text, prefix, item, serial = parts
        body = _prefix_and_reference(prefix, item, 13, "indicator and item reference")
        gtin = body + str(gtin_check_digit(body))
        if scheme == "sgtin-96":
            _digits(serial, "SGTIN-96 serial")
            if len(serial) > 1 and serial[0] == "0":
                raise EpcError(f"SGTIN-96 serial must not have leading zeros, got {serial!r}")
            return encode_sgtin96(gtin, int(serial), len(prefix), _filter(filter_text))
        return encode_sgtin198(gtin, unescape_serial(serial), len(prefix), _filter(filter_text), sgtin198_hex_digits)
    if scheme == "sscc-96":
        parts = rest.split(".")
        if len(parts) != 3:
            raise EpcError(f"sscc-96 tag URI needs filter.prefix.serialref, got {rest!r}")
        filter_text, prefix, reference = parts
        body = _prefix_and_reference(prefix, reference, 17, "extension and serial reference")
        return encode_sscc96(body + str(gtin_check_digit(body)), len(prefix), _filter(filter_text))
    raise EpcError(f"unsupported tag URI scheme {scheme!r} (sgtin-96, sgtin-198 or sscc-96)")

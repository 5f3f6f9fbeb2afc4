"""SGTIN-96 and SGTIN-198: decode from the EPC's integer value, encode from a GTIN and a serial."""

from __future__ import annotations

from rfid.epc.gs1 import (
    AI82_CHARACTERS,
    AI82_CODES,
    CHAR_BITS,
    SGTIN198_SERIAL_CHARS,
    SGTIN96_SERIAL_BITS,
    SGTIN_FIELD_BITS,
    SGTIN_PARTITIONS,
    escape_serial,
    gtin_check_digit,
    normalise_gtin,
    partition_for_prefix_length,
)
from rfid.epc.model import SGTIN_96, SGTIN_198, Epc, EpcError, Problem, problem_reason

SGTIN96_HEADER = 0x30
SGTIN198_HEADER = 0x36
SGTIN198_BITS = 198
_SERIAL198_BITS = SGTIN198_SERIAL_CHARS * CHAR_BITS  # 140


def _failed(hex_value: str, problem: Problem, scheme: str) -> Epc:
    return Epc(hex=hex_value, scheme="unknown", error=problem_reason(problem, scheme))


def _split_field(field: int, partition: int) -> tuple[int, int, int] | Problem:
    """(company prefix, indicator+item reference, prefix digits) or the partition problem."""
    if partition == 7:
        return Problem.PARTITION
    row = SGTIN_PARTITIONS[partition]
    prefix = field >> row.reference_bits
    reference = field & ((1 << row.reference_bits) - 1)
    if prefix >= 10**row.prefix_digits:
        return Problem.PREFIX_DIGITS
    if reference >= 10**row.reference_digits:
        return Problem.REFERENCE_DIGITS
    return prefix, reference, row.prefix_digits


def sgtin_epc(hex_value: str, scheme: str, filter_value: int, company_prefix: str, item: str, gtin: str, serial: str) -> Epc:
    """Assemble a valid SGTIN `Epc` (URIs, escaping) from its already-checked fields."""
    uri_serial = escape_serial(serial) if scheme == SGTIN_198 else serial
    return Epc(
        hex=hex_value,
        scheme=scheme,
        filter=filter_value,
        company_prefix=company_prefix,
        gs1_key=gtin,
        serial=serial,
        tag_uri=f"urn:epc:tag:{scheme}:{filter_value}.{company_prefix}.{item}.{uri_serial}",
        pure_uri=f"urn:epc:id:sgtin:{company_prefix}.{item}.{uri_serial}",
    )


def _sgtin(hex_value: str, scheme: str, filter_value: int, prefix: int, reference: int, digits: int, serial: str) -> Epc:
    company_prefix = f"{prefix:0{digits}d}"
    item = f"{reference:0{13 - digits}d}"
    body = item[0] + company_prefix + item[1:]
    gtin = f"{body}{gtin_check_digit(body)}"
    return sgtin_epc(hex_value, scheme, filter_value, company_prefix, item, gtin, serial)


def decode_sgtin96(hex_value: str, value: int) -> Epc:
    """Decode a 96-bit value whose header is 0x30."""
    fields = _split_field((value >> SGTIN96_SERIAL_BITS) & ((1 << SGTIN_FIELD_BITS) - 1), (value >> 82) & 7)
    if isinstance(fields, Problem):
        return _failed(hex_value, fields, SGTIN_96)
    serial = value & ((1 << SGTIN96_SERIAL_BITS) - 1)
    return _sgtin(hex_value, SGTIN_96, (value >> 85) & 7, *fields, str(serial))


def decode_serial_text(bits: int) -> str | Problem:
    """The 7-bit serial of an SGTIN-198: characters up to the first zero, nothing but zeros after."""
    codes = [(bits >> (CHAR_BITS * (SGTIN198_SERIAL_CHARS - 1 - k))) & 0x7F for k in range(SGTIN198_SERIAL_CHARS)]
    end = codes.index(0) if 0 in codes else SGTIN198_SERIAL_CHARS
    if any(codes[end:]):
        return Problem.SERIAL_GAP
    if end == 0:
        return Problem.SERIAL_EMPTY
    if not AI82_CODES.issuperset(codes[:end]):
        return Problem.SERIAL_CHARACTER
    return bytes(codes[:end]).decode("ascii")


def decode_sgtin198(hex_value: str, value: int, bit_length: int) -> Epc:
    """Decode a 200- or 208-bit value (198 bits plus zero padding) whose header is 0x36."""
    padding = bit_length - SGTIN198_BITS
    if value & ((1 << padding) - 1):
        return _failed(hex_value, Problem.PADDING_BITS, SGTIN_198)
    value >>= padding
    fields = _split_field((value >> _SERIAL198_BITS) & ((1 << SGTIN_FIELD_BITS) - 1), (value >> 184) & 7)
    if isinstance(fields, Problem):
        return _failed(hex_value, fields, SGTIN_198)
    serial = decode_serial_text(value & ((1 << _SERIAL198_BITS) - 1))
    if isinstance(serial, Problem):
        return _failed(hex_value, serial, SGTIN_198)
    return _sgtin(hex_value, SGTIN_198, (value >> 187) & 7, *fields, serial)


def _check_small_int(value: object, name: str, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
        raise EpcError(f"{name} must be an integer from 0 to {limit - 1}, got {value!r}")
    return value


def _gtin_field(gtin: str, company_prefix_length: int) -> tuple[int, int]:
    """(partition, 44-bit prefix+reference field) for a GTIN split at the company prefix length."""
    gtin14 = normalise_gtin(gtin)
    partition = partition_for_prefix_length(SGTIN_PARTITIONS, company_prefix_length)
    row = SGTIN_PARTITIONS[partition]
    prefix = int(gtin14[1 : 1 + company_prefix_length])
    reference = int(gtin14[0] + gtin14[1 + company_prefix_length : 13])
    return partition, (prefix << row.reference_bits) | reference


def encode_sgtin96(gtin: str, serial: int, company_prefix_length: int, filter: int = 1) -> str:
    """The 24-digit hex SGTIN-96 of a GTIN and a numeric serial (0 to 2^38 - 1)."""
    filter_value = _check_small_int(filter, "filter", 8)
    serial_value = _check_small_int(serial, "SGTIN-96 serial", 1 << SGTIN96_SERIAL_BITS)
    partition, field = _gtin_field(gtin, company_prefix_length)
    value = (SGTIN96_HEADER << 88) | (filter_value << 85) | (partition << 82) | (field << 38) | serial_value
    return f"{value:024X}"


def encode_sgtin198(gtin: str, serial: str, company_prefix_length: int, filter: int = 1, hex_digits: int = 52) -> str:
    """The hex SGTIN-198 of a GTIN and a 1–20 character AI 82 serial (plain text, not URI-escaped)."""
    filter_value = _check_small_int(filter, "filter", 8)
    if not isinstance(serial, str) or not 1 <= len(serial) <= SGTIN198_SERIAL_CHARS:
        raise EpcError(f"SGTIN-198 serial must be 1 to 20 characters, got {serial!r}")
    bad = sorted(set(serial) - AI82_CHARACTERS)
    if bad:
        raise EpcError(f"SGTIN-198 serial holds characters outside the GS1 AI 82 set: {''.join(bad)!r}")
    if hex_digits not in (50, 52):
        raise EpcError(f"SGTIN-198 hex length must be 50 or 52 digits, got {hex_digits}")
    partition, field = _gtin_field(gtin, company_prefix_length)
    serial_bits = 0
    for k, char in enumerate(serial):
        serial_bits |= ord(char) << (CHAR_BITS * (SGTIN198_SERIAL_CHARS - 1 - k))
    value = (SGTIN198_HEADER << 190) | (filter_value << 187) | (partition << 184) | (field << 140) | serial_bits
    return f"{value << (hex_digits * 4 - SGTIN198_BITS):0{hex_digits}X}"

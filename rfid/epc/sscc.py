"""SSCC-96: decode from the EPC's integer value, encode from an SSCC-18."""

from __future__ import annotations

from rfid.epc.gs1 import SSCC_FIELD_BITS, SSCC_PARTITIONS, check_key, gtin_check_digit, partition_for_prefix_length
from rfid.epc.model import SSCC_96, Epc, EpcError, Problem, problem_reason

SSCC96_HEADER = 0x31
_RESERVED_BITS = 24


def decode_sscc96(hex_value: str, value: int) -> Epc:
    """Decode a 96-bit value whose header is 0x31."""
    partition = (value >> 82) & 7
    problem = Problem.NONE
    prefix = reference = 0
    if partition == 7:
        problem = Problem.PARTITION
    else:
        row = SSCC_PARTITIONS[partition]
        field = (value >> _RESERVED_BITS) & ((1 << SSCC_FIELD_BITS) - 1)
        prefix = field >> row.reference_bits
        reference = field & ((1 << row.reference_bits) - 1)
        if prefix >= 10**row.prefix_digits:
            problem = Problem.PREFIX_DIGITS
        elif reference >= 10**row.reference_digits:
            problem = Problem.REFERENCE_DIGITS
        elif value & ((1 << _RESERVED_BITS) - 1):
            problem = Problem.RESERVED_BITS
    if problem is not Problem.NONE:
        return Epc(hex=hex_value, scheme="unknown", error=problem_reason(problem, SSCC_96))
    digits = SSCC_PARTITIONS[partition].prefix_digits
    company_prefix = f"{prefix:0{digits}d}"
    serial_reference = f"{reference:0{17 - digits}d}"
    body = serial_reference[0] + company_prefix + serial_reference[1:]
    sscc = f"{body}{gtin_check_digit(body)}"
    return sscc_epc(hex_value, (value >> 85) & 7, company_prefix, serial_reference, sscc)


def sscc_epc(hex_value: str, filter_value: int, company_prefix: str, serial_reference: str, sscc: str) -> Epc:
    """Assemble a valid SSCC-96 `Epc` (URIs) from its already-checked fields."""
    return Epc(
        hex=hex_value,
        scheme=SSCC_96,
        filter=filter_value,
        company_prefix=company_prefix,
        gs1_key=sscc,
        serial=None,
        tag_uri=f"urn:epc:tag:sscc-96:{filter_value}.{company_prefix}.{serial_reference}",
        pure_uri=f"urn:epc:id:sscc:{company_prefix}.{serial_reference}",
    )


def encode_sscc96(sscc: str, company_prefix_length: int, filter: int = 0) -> str:
    """The 24-digit hex SSCC-96 of a checked SSCC-18 split at the company prefix length."""
    if isinstance(filter, bool) or not isinstance(filter, int) or not 0 <= filter < 8:
        raise EpcError(f"filter must be an integer from 0 to 7, got {filter!r}")
    key = check_key(sscc, 18, "SSCC")
    partition = partition_for_prefix_length(SSCC_PARTITIONS, company_prefix_length)
    row = SSCC_PARTITIONS[partition]
    prefix = int(key[1 : 1 + company_prefix_length])
    reference = int(key[0] + key[1 + company_prefix_length : 17])
    field = (prefix << row.reference_bits) | reference
    value = (SSCC96_HEADER << 88) | (filter << 85) | (partition << 82) | (field << _RESERVED_BITS)
    return f"{value:024X}"

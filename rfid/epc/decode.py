"""The scalar decoder: one value in, one `Epc` out, never an exception."""

from __future__ import annotations

from rfid.epc.bits import normalise_hex
from rfid.epc.model import (
    EXPECTED_HEX_LENGTHS,
    HEADERS,
    SGTIN_96,
    SGTIN_198,
    UNKNOWN,
    Epc,
    Problem,
    problem_reason,
)
from rfid.epc.sgtin import decode_sgtin96, decode_sgtin198
from rfid.epc.sscc import decode_sscc96


def header_scheme(hex_value: str) -> str:
    """The scheme named by the first byte of clean hex ("unknown" for every other header)."""
    return HEADERS.get(int(hex_value[:2], 16), UNKNOWN) if len(hex_value) >= 2 else UNKNOWN


def decode_epc(value: str | bytes) -> Epc:
    """Decode hex text (or the raw EPC bytes) into an `Epc`; junk is classified, never raised."""
    hex_value, problem = normalise_hex(value)
    if problem is not Problem.NONE:
        return Epc(hex=hex_value, scheme=UNKNOWN, error=problem_reason(problem, UNKNOWN))
    scheme = header_scheme(hex_value)
    if scheme == UNKNOWN:
        # Factory TIDs (E2…), unprogrammed zeros and other schemes: not an error, just not ours.
        return Epc(hex=hex_value, scheme=UNKNOWN)
    if len(hex_value) not in EXPECTED_HEX_LENGTHS[scheme]:
        return Epc(hex=hex_value, scheme=UNKNOWN, error=problem_reason(Problem.LENGTH, scheme))
    number = int(hex_value, 16)
    if scheme == SGTIN_96:
        return decode_sgtin96(hex_value, number)
    if scheme == SGTIN_198:
        return decode_sgtin198(hex_value, number, len(hex_value) * 4)
    return decode_sscc96(hex_value, number)

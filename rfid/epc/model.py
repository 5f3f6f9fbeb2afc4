"""The decoded EPC value, the codec's exception and its catalogue of decode problems."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

SGTIN_96 = "sgtin-96"
SGTIN_198 = "sgtin-198"
SSCC_96 = "sscc-96"
UNKNOWN = "unknown"

# Small integer codes so the vectorised path can carry the scheme in a uint8 array.
SCHEME_NAMES: tuple[str, ...] = (UNKNOWN, SGTIN_96, SGTIN_198, SSCC_96)
SCHEME_CODES: dict[str, int] = {name: code for code, name in enumerate(SCHEME_NAMES)}

# EPC header byte -> scheme this codec decodes (TDS 1.13 table 14-1).
HEADERS: dict[int, str] = {0x30: SGTIN_96, 0x36: SGTIN_198, 0x31: SSCC_96}


class EpcError(ValueError):
    """An EPC, GTIN, SSCC or URI that cannot be encoded, with the reason."""


class Problem(IntEnum):
    """Why a value is not a valid EPC of the scheme its header names (0 = no problem)."""

    NONE = 0
    EMPTY = 1
    NOT_HEX = 2
    ODD_LENGTH = 3
    LENGTH = 4
    PARTITION = 5
    PREFIX_DIGITS = 6
    REFERENCE_DIGITS = 7
    RESERVED_BITS = 8
    PADDING_BITS = 9
    SERIAL_CHARACTER = 10
    SERIAL_GAP = 11
    SERIAL_EMPTY = 12


# One fixed message per problem so the scalar and vectorised paths report identical reasons.
PROBLEM_MESSAGES: dict[Problem, str] = {
    Problem.NONE: "",
    Problem.EMPTY: "empty value",
    Problem.NOT_HEX: "not hexadecimal",
    Problem.ODD_LENGTH: "odd number of hex digits",
    Problem.LENGTH: "wrong length for this header",
    Problem.PARTITION: "partition 7 is invalid",
    Problem.PREFIX_DIGITS: "company prefix has more digits than the partition allows",
    Problem.REFERENCE_DIGITS: "item/serial reference has more digits than the partition allows",
    Problem.RESERVED_BITS: "the 24 reserved bits are not zero",
    Problem.PADDING_BITS: "bits after the 198-bit EPC are not zero",
    Problem.SERIAL_CHARACTER: "serial holds a character outside the GS1 AI 82 set",
    Problem.SERIAL_GAP: "serial has non-zero characters after its terminating zero",
    Problem.SERIAL_EMPTY: "serial is empty",
}

EXPECTED_HEX_LENGTHS: dict[str, tuple[int, ...]] = {SGTIN_96: (24,), SGTIN_198: (50, 52), SSCC_96: (24,)}


def problem_reason(problem: Problem, header_scheme: str) -> str | None:
    """The `Epc.error` text for a problem found in a value whose header names `header_scheme`."""
    if problem is Problem.NONE:
        return None
    message = PROBLEM_MESSAGES[problem]
    if problem is Problem.LENGTH:
        lengths = " or ".join(str(n) for n in EXPECTED_HEX_LENGTHS[header_scheme])
        message = f"wrong length: needs {lengths} hex digits"
    if header_scheme == UNKNOWN:
        return message
    return f"{header_scheme} header: {message}"


@dataclass(frozen=True, slots=True)
class Epc:
    """One decoded EPC; `scheme` is "unknown" (and `error` set) when it is not a valid GS1 EPC."""

    hex: str
    scheme: str
    filter: int | None = None
    company_prefix: str | None = None
    gs1_key: str | None = None
    serial: str | None = None
    tag_uri: str | None = None
    pure_uri: str | None = None
    error: str | None = None

    @property
    def is_gs1(self) -> bool:
        """True for a valid SGTIN-96, SGTIN-198 or SSCC-96."""
        return self.scheme != UNKNOWN

    @property
    def gtin(self) -> str | None:
        """The GTIN-14 of an SGTIN, else None."""
        return self.gs1_key if self.scheme in (SGTIN_96, SGTIN_198) else None

    @property
    def sscc(self) -> str | None:
        """The SSCC-18 of an SSCC-96, else None."""
        return self.gs1_key if self.scheme == SSCC_96 else None

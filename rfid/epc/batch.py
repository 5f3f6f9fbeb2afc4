"""`EpcBatch`: the column-wise result of decoding many EPCs at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rfid.epc.bits import normalise_hex
from rfid.epc.model import SCHEME_NAMES, SGTIN_96, SGTIN_198, UNKNOWN, Epc, Problem, problem_reason
from rfid.epc.sgtin import sgtin_epc
from rfid.epc.sscc import sscc_epc

SCHEME_UNKNOWN, SCHEME_SGTIN96, SCHEME_SGTIN198, SCHEME_SSCC96 = range(4)


@dataclass(frozen=True, slots=True)
class EpcBatch:
    """Decoded fields as numpy columns, one row per input; -1 (or 0 digits) where not decoded."""

    source: list[Any]  # the inputs as given, so `hex` is normalised by the scalar rule on demand
    scheme: NDArray[np.uint8]  # index into SCHEME_NAMES; 0 = unknown or invalid
    header_scheme: NDArray[np.uint8]  # the scheme the header byte claims, valid or not
    problem: NDArray[np.uint8]  # a `Problem` value; 0 = none
    filter: NDArray[np.int8]
    prefix_digits: NDArray[np.int8]
    company_prefix: NDArray[np.int64]
    reference: NDArray[np.int64]  # indicator + item reference, or extension + serial reference
    gs1_key: NDArray[np.int64]  # GTIN-14 or SSCC-18 as an integer
    serial: NDArray[np.int64]  # SGTIN-96 serial
    serial_text: NDArray[np.object_]  # SGTIN-198 serial (plain text), else None

    def __len__(self) -> int:
        return len(self.source)

    @property
    def is_gs1(self) -> NDArray[np.bool_]:
        """Mask of rows that are a valid SGTIN-96, SGTIN-198 or SSCC-96."""
        mask: NDArray[np.bool_] = self.scheme != SCHEME_UNKNOWN
        return mask

    def reason(self, row: int) -> str | None:
        """The `Epc.error` text of one row."""
        return problem_reason(Problem(int(self.problem[row])), SCHEME_NAMES[int(self.header_scheme[row])])

    def epc(self, row: int) -> Epc:
        """Row `row` as the same `Epc` the scalar `decode_epc` returns for that input."""
        hex_value = normalise_hex(self.source[row])[0]
        code = int(self.scheme[row])
        if code == SCHEME_UNKNOWN:
            return Epc(hex=hex_value, scheme=UNKNOWN, error=self.reason(row))
        digits = int(self.prefix_digits[row])
        company_prefix = f"{int(self.company_prefix[row]):0{digits}d}"
        filter_value = int(self.filter[row])
        if code == SCHEME_SSCC96:
            reference = f"{int(self.reference[row]):0{17 - digits}d}"
            return sscc_epc(hex_value, filter_value, company_prefix, reference, f"{int(self.gs1_key[row]):018d}")
        item = f"{int(self.reference[row]):0{13 - digits}d}"
        gtin = f"{int(self.gs1_key[row]):014d}"
        if code == SCHEME_SGTIN96:
            return sgtin_epc(hex_value, SGTIN_96, filter_value, company_prefix, item, gtin, str(int(self.serial[row])))
        return sgtin_epc(hex_value, SGTIN_198, filter_value, company_prefix, item, gtin, str(self.serial_text[row]))

    def to_epcs(self) -> list[Epc]:
        """Every row as an `Epc` (slow: builds Python objects; for reporting, not the hot path)."""
        return [self.epc(row) for row in range(len(self.source))]


def empty_batch(source: list[Any]) -> EpcBatch:
    """A batch of `len(source)` undecoded rows to be filled in block by block."""
    n = len(source)
    return EpcBatch(
        source=source,
        scheme=np.zeros(n, np.uint8),
        header_scheme=np.zeros(n, np.uint8),
        problem=np.zeros(n, np.uint8),
        filter=np.full(n, -1, np.int8),
        prefix_digits=np.zeros(n, np.int8),
        company_prefix=np.full(n, -1, np.int64),
        reference=np.full(n, -1, np.int64),
        gs1_key=np.full(n, -1, np.int64),
        serial=np.full(n, -1, np.int64),
        serial_text=np.empty(n, dtype=object),  # numpy fills object arrays with None
    )

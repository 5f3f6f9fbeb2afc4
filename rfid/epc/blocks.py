"""Column-wise decoding of equal-length EPC rows (uint8 matrices) with uint64 bit slicing."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rfid.epc.batch import SCHEME_SGTIN96, SCHEME_SGTIN198, SCHEME_SSCC96, EpcBatch
from rfid.epc.gs1 import AI82_CODES, SGTIN_PARTITIONS, SSCC_PARTITIONS, Partition
from rfid.epc.model import HEADERS, SCHEME_CODES, Problem

U64 = NDArray[np.uint64]
I64 = NDArray[np.int64]
Rows = NDArray[np.intp]

# Header byte -> scheme code, for a whole column at once.
HEADER_CODES = np.zeros(256, np.uint8)
for _header, _scheme in HEADERS.items():
    HEADER_CODES[_header] = SCHEME_CODES[_scheme]

_AI82 = np.zeros(128, np.bool_)
_AI82[sorted(AI82_CODES)] = True
_POW10 = np.array([10**k for k in range(19)], np.int64)
# Weighted digit sums (weights 3,1,3,1 from the right) of every 4-digit chunk: check digits in 4-5 steps.
_CHUNK = np.arange(10_000, dtype=np.int64)
_CHUNK_WEIGHTS = 3 * (_CHUNK % 10) + (_CHUNK // 10 % 10) + 3 * (_CHUNK // 100 % 10) + (_CHUNK // 1000)


def _table(partitions: tuple[Partition, ...]) -> tuple[U64, I64]:
    """Reference bit counts and prefix digit counts indexed by partition (7 padded with zeros)."""
    bits = np.array([p.reference_bits for p in partitions] + [0], np.uint64)
    digits = np.array([p.prefix_digits for p in partitions] + [0], np.int64)
    return bits, digits


_SGTIN_TABLE = _table(SGTIN_PARTITIONS)
_SSCC_TABLE = _table(SSCC_PARTITIONS)


def _be_uint(data: NDArray[np.uint8], start: int, width: int) -> U64:
    """Big-endian unsigned integers from `width` (4 or 8) bytes of every row."""
    dtype = ">u8" if width == 8 else ">u4"
    return np.ascontiguousarray(data[:, start : start + width]).view(dtype).ravel().astype(np.uint64)


def keys_with_check_digit(body: I64, digits: int) -> I64:
    """Append the GS1 check digit to every `digits`-digit key body."""
    rest, chunk = np.divmod(body, 10_000)
    total = _CHUNK_WEIGHTS[chunk]
    for _ in range((digits + 3) // 4 - 1):
        rest, chunk = np.divmod(rest, 10_000)
        total += _CHUNK_WEIGHTS[chunk]
    return body * 10 + (10 - total % 10) % 10


def _split(field: U64, partition: U64, table: tuple[U64, I64], total_digits: int) -> tuple[I64, I64, I64, NDArray[np.uint8]]:
    """Company prefix, reference, prefix digits and the problem (partition 7 / too many digits)."""
    ref_bits = table[0][partition]
    digits = table[1][partition]
    prefix = (field >> ref_bits).astype(np.int64)
    reference = (field & ((np.uint64(1) << ref_bits) - np.uint64(1))).astype(np.int64)
    problem = np.select(
        [partition == 7, prefix >= _POW10[digits], reference >= _POW10[total_digits - digits]],
        [Problem.PARTITION, Problem.PREFIX_DIGITS, Problem.REFERENCE_DIGITS],
        Problem.NONE,
    ).astype(np.uint8)
    return prefix, reference, digits, problem


def _keys(prefix: I64, reference: I64, digits: I64, total_digits: int, ok: NDArray[np.bool_]) -> I64:
    """GTIN-14 (13 body digits) or SSCC-18 (17) as integers: first reference digit, prefix, rest."""
    prefix = np.where(ok, prefix, 0)
    reference = np.where(ok, reference, 0)
    scale = _POW10[np.where(ok, total_digits - digits - 1, 0)]
    body = (reference // scale) * _POW10[total_digits - 1] + prefix * scale + reference % scale
    return np.where(ok, keys_with_check_digit(body, total_digits), -1)


def _store(batch: EpcBatch, rows: Rows, scheme: int, problem: NDArray[np.uint8], hi: U64,
           prefix: I64, reference: I64, digits: I64, key: I64) -> NDArray[np.bool_]:
    """Write the common columns of one scheme's rows; returns the mask of valid rows."""
    ok: NDArray[np.bool_] = problem == Problem.NONE
    good = rows[ok]
    batch.problem[rows] = problem
    batch.scheme[good] = scheme
    batch.filter[good] = ((hi[ok] >> np.uint64(53)) & np.uint64(7)).astype(np.int8)
    batch.prefix_digits[good] = digits[ok].astype(np.int8)
    batch.company_prefix[good] = prefix[ok]
    batch.reference[good] = reference[ok]
    batch.gs1_key[good] = key[ok]
    return ok


def _sgtin96(batch: EpcBatch, rows: Rows, hi: U64, lo: U64) -> None:
    partition = (hi >> np.uint64(50)) & np.uint64(7)
    field = (hi >> np.uint64(6)) & np.uint64((1 << 44) - 1)
    prefix, reference, digits, problem = _split(field, partition, _SGTIN_TABLE, 13)
    key = _keys(prefix, reference, digits, 13, problem == Problem.NONE)
    ok = _store(batch, rows, SCHEME_SGTIN96, problem, hi, prefix, reference, digits, key)
    serial = ((hi[ok] & np.uint64(63)) << np.uint64(32)) | lo[ok]
    batch.serial[rows[ok]] = serial.astype(np.int64)


def _sscc96(batch: EpcBatch, rows: Rows, hi: U64, lo: U64) -> None:
    partition = (hi >> np.uint64(50)) & np.uint64(7)
    field = ((hi & np.uint64((1 << 50) - 1)) << np.uint64(8)) | (lo >> np.uint64(24))
    prefix, reference, digits, problem = _split(field, partition, _SSCC_TABLE, 17)
    reserved = (lo & np.uint64(0xFFFFFF)) != 0
    problem = np.where((problem == Problem.NONE) & reserved, np.uint8(Problem.RESERVED_BITS), problem)
    key = _keys(prefix, reference, digits, 17, problem == Problem.NONE)
    _store(batch, rows, SCHEME_SSCC96, problem, hi, prefix, reference, digits, key)


# Each 7-bit serial character k starts at bit 58 + 7k and spans at most two bytes.
_CHAR_START = 58 + 7 * np.arange(20)
_CHAR_BYTE = _CHAR_START // 8
_CHAR_SHIFT = (16 - 7 - _CHAR_START % 8).astype(np.uint16)


def _serial_codes(data: NDArray[np.uint8]) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """The twenty 7-bit serial characters of SGTIN-198 rows, and whether padding bits are set."""
    pairs = (data[:, _CHAR_BYTE].astype(np.uint16) << 8) | data[:, _CHAR_BYTE + 1]
    codes = ((pairs >> _CHAR_SHIFT) & 0x7F).astype(np.uint8)
    # Bits 198-199 are the low two bits of byte 24; a 26-byte row also pads byte 25.
    padded = np.asarray((data[:, 24] & 3) != 0, np.bool_)
    if data.shape[1] == 26:
        padded |= data[:, 25] != 0
    return codes, padded


def _sgtin198(batch: EpcBatch, rows: Rows, data: NDArray[np.uint8], hi: U64) -> None:
    codes, padded = _serial_codes(data)
    partition = (hi >> np.uint64(50)) & np.uint64(7)
    field = (hi >> np.uint64(6)) & np.uint64((1 << 44) - 1)
    prefix, reference, digits, problem = _split(field, partition, _SGTIN_TABLE, 13)
    zero = codes == 0
    ended = np.logical_or.accumulate(zero, axis=1)
    problem = np.select(
        [padded, problem != Problem.NONE, (ended & ~zero).any(axis=1), zero[:, 0], (~ended & ~_AI82[codes & 0x7F]).any(axis=1)],
        [Problem.PADDING_BITS, problem, Problem.SERIAL_GAP, Problem.SERIAL_EMPTY, Problem.SERIAL_CHARACTER],
        Problem.NONE,
    ).astype(np.uint8)
    key = _keys(prefix, reference, digits, 13, problem == Problem.NONE)
    ok = _store(batch, rows, SCHEME_SGTIN198, problem, hi, prefix, reference, digits, key)
    # numpy's fixed-width bytes drop the trailing NUL characters: exactly the serial's terminator.
    texts = np.ascontiguousarray(codes[ok]).view("S20").ravel()
    batch.serial_text[rows[ok]] = texts.astype("U20")


def decode_block(batch: EpcBatch, rows: Rows, data: NDArray[np.uint8]) -> None:
    """Decode rows of clean EPC bytes (12, 25 or 26 bytes wide) into `batch` at `rows`."""
    claimed = HEADER_CODES[data[:, 0]]
    batch.header_scheme[rows] = claimed
    hi = _be_uint(data, 0, 8)
    if data.shape[1] == 12:
        lo = _be_uint(data, 8, 4)
        batch.problem[rows[claimed == SCHEME_SGTIN198]] = Problem.LENGTH
        for code, decode in ((SCHEME_SGTIN96, _sgtin96), (SCHEME_SSCC96, _sscc96)):
            mask = claimed == code
            if mask.any():
                decode(batch, rows[mask], hi[mask], lo[mask])
        return
    batch.problem[rows[(claimed == SCHEME_SGTIN96) | (claimed == SCHEME_SSCC96)]] = Problem.LENGTH
    mask = claimed == SCHEME_SGTIN198
    if mask.any():
        _sgtin198(batch, rows[mask], data[mask], hi[mask])

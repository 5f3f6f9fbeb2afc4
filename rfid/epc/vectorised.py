"""`decode_many`: the numpy decoder for the ingest hot path, agreeing field for field with `decode_epc`."""

from __future__ import annotations

import binascii
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rfid.epc.batch import EpcBatch, empty_batch
from rfid.epc.bits import normalise_hex
from rfid.epc.blocks import HEADER_CODES, decode_block
from rfid.epc.model import Problem

Rows = NDArray[np.intp]

# Hex lengths of the decodable EPCs: 96-bit, and SGTIN-198 as 50 or 52 digits.
BLOCK_HEX_LENGTHS = (24, 50, 52)

_NIBBLE = np.full(256, 255, np.uint8)
for _value, _digit in enumerate("0123456789abcdef"):
    _NIBBLE[ord(_digit)] = _NIBBLE[ord(_digit.upper())] = _value
_NOT_HEX = _NIBBLE == 255
_GATHER_CHUNK = 1 << 16
# Length -> is it one of the block lengths (everything past the table is not).
_IS_BLOCK_LENGTH = np.zeros(max(BLOCK_HEX_LENGTHS) + 2, np.bool_)
_IS_BLOCK_LENGTH[list(BLOCK_HEX_LENGTHS)] = True


def _pick(texts: list[str], rows: Rows) -> list[str]:
    if rows.size == len(texts):
        return texts
    if rows.size <= 1:
        return [texts[int(row)] for row in rows]
    return list(itemgetter(*rows.tolist())(texts))


def _ascii_codes(joined: str) -> NDArray[np.uint8]:
    """One byte per character; non-ASCII characters become "?" (so they count as not hex)."""
    return np.frombuffer(joined.encode("ascii", "replace"), np.uint8)


def _gather(buffer: NDArray[np.uint8], starts: Rows, length: int) -> NDArray[np.uint8]:
    """Rows of `length` characters starting at `starts` in the joined text, as a matrix (chunked: the index is large)."""
    out = np.empty((starts.size, length), np.uint8)
    columns = np.arange(length)
    for begin in range(0, starts.size, _GATHER_CHUNK):
        chunk = starts[begin : begin + _GATHER_CHUNK]
        out[begin : begin + chunk.size] = buffer[chunk[:, None] + columns]
    return out


def _hex_rows(chars: NDArray[np.uint8]) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """Bytes of the clean rows of a matrix of hex characters, and the mask of rows that are not clean hex."""
    length = chars.shape[1]
    try:
        return np.frombuffer(binascii.a2b_hex(chars.data), np.uint8).reshape(-1, length // 2), np.zeros(len(chars), np.bool_)
    except binascii.Error:  # some rows are dirty: blank them to "0…0" so the others still convert in one call
        bad = np.asarray(_NOT_HEX[chars].any(axis=1), np.bool_)
        clean = chars.copy()
        clean[bad] = ord("0")
        return np.frombuffer(binascii.a2b_hex(clean.data), np.uint8).reshape(-1, length // 2)[~bad], bad


def _classify_clean(batch: EpcBatch, texts: list[str], rows: Rows, lengths: NDArray[np.int64]) -> Rows:
    """Classify rows of other lengths that are plain hex (empty, odd, wrong length, unknown); return the dirty rest."""
    if rows.size == 0:
        return rows
    lengths = lengths[rows]
    chars = _ascii_codes("".join(_pick(texts, rows)))
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    bad_so_far = np.concatenate(([0], np.cumsum(_NOT_HEX[chars], dtype=np.int64)))
    dirty = bad_so_far[starts + lengths] > bad_so_far[starts]
    batch.problem[rows[~dirty & (lengths == 0)]] = Problem.EMPTY
    batch.problem[rows[~dirty & (lengths % 2 == 1)]] = Problem.ODD_LENGTH
    even = ~dirty & (lengths > 0) & (lengths % 2 == 0)
    first = starts[even]
    claimed = HEADER_CODES[(_NIBBLE[chars[first]] << 4) | _NIBBLE[chars[first + 1]]]
    gs1 = rows[even][claimed != 0]
    batch.header_scheme[gs1] = claimed[claimed != 0]
    batch.problem[gs1] = Problem.LENGTH  # a GS1 header on a value of the wrong length
    return rows[dirty]


def _decode_rest(batch: EpcBatch, rows: Rows) -> None:
    """Dirty rows: normalise each by the scalar rule, then decode the decodable ones in blocks too."""
    regroup: dict[int, tuple[list[int], list[str]]] = {n: ([], []) for n in BLOCK_HEX_LENGTHS}
    for row in rows.tolist():
        hex_value, problem = normalise_hex(batch.source[row])
        if problem is not Problem.NONE:
            batch.problem[row] = problem
        elif len(hex_value) in regroup:
            regroup[len(hex_value)][0].append(row)
            regroup[len(hex_value)][1].append(hex_value)
        else:
            claimed = HEADER_CODES[int(hex_value[:2], 16)]
            if claimed:
                batch.header_scheme[row] = claimed
                batch.problem[row] = Problem.LENGTH
    for length, (group, hexes) in regroup.items():
        if group:
            data = np.frombuffer(bytes.fromhex("".join(hexes)), np.uint8).reshape(-1, length // 2)
            decode_block(batch, np.array(group, np.intp), data)


def decode_many(values: Sequence[str | bytes] | NDArray[Any]) -> EpcBatch:
    """Decode many EPCs (hex texts or raw bytes) into numpy columns; never raises on bad values."""
    source: list[Any] = np.asarray(values).ravel().tolist() if isinstance(values, np.ndarray) else list(values)
    batch = empty_batch(source)
    if set(map(type, source)) <= {str}:
        texts: list[str] = source
        others = np.zeros(0, np.intp)
    else:  # bytes and odd objects take the scalar rule; "" keeps them off the fast path meanwhile
        texts = [v if type(v) is str else "" for v in source]
        others = np.flatnonzero(np.fromiter((type(v) is not str for v in source), np.bool_, len(source)))
    lengths = np.fromiter(map(len, texts), np.int64, len(texts))
    is_block = _IS_BLOCK_LENGTH[np.minimum(lengths, len(_IS_BLOCK_LENGTH) - 1)]
    dirty = [others]
    # One join and one encode for everything; each length group is then gathered out of that buffer.
    buffer = _ascii_codes("".join(texts))
    starts = np.cumsum(lengths) - lengths
    for length in BLOCK_HEX_LENGTHS:
        rows = np.flatnonzero(lengths == length)
        if rows.size == 0:
            continue
        data, bad = _hex_rows(_gather(buffer, starts[rows], length))
        dirty.append(rows[bad])
        decode_block(batch, rows[~bad], data)
    plain = np.flatnonzero(~is_block)
    if others.size:
        plain = np.setdiff1d(plain, others, assume_unique=True)
    dirty.append(_classify_clean(batch, texts, plain, lengths))
    _decode_rest(batch, np.sort(np.concatenate(dirty)))
    return batch

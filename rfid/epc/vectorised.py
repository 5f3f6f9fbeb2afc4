"""`decode_many`: the numpy decoder for the ingest hot path, agreeing field for field with `decode_epc`."""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rfid.epc.batch import EpcBatch, empty_batch
from rfid.epc.bits import normalise_hex
from rfid.epc.blocks import HEADER_CODES, decode_block
from rfid.epc.model import Problem

# Hex lengths of the decodable EPCs: 96-bit, and SGTIN-198 as 50 or 52 digits.
BLOCK_HEX_LENGTHS = (24, 50, 52)

_NOT_HEX = np.ones(256, np.bool_)
_NOT_HEX[np.frombuffer(b"0123456789abcdefABCDEF", np.uint8)] = False
# Length -> is it one of the block lengths (anything longer than 52 is not).
_IS_BLOCK_LENGTH = np.zeros(max(BLOCK_HEX_LENGTHS) + 2, np.bool_)
_IS_BLOCK_LENGTH[list(BLOCK_HEX_LENGTHS)] = True

def _pick(texts: list[str], rows: NDArray[np.intp]) -> list[str]:
    if rows.size == len(texts):
        return texts
    if rows.size == 0:
        return []
    if rows.size == 1:
        return [texts[int(rows[0])]]
    return list(itemgetter(*rows.tolist())(texts))


def _hex_rows(texts: list[str], length: int) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """Bytes of the clean rows among equal-length hex texts, and the mask of rows that are not clean."""
    joined = "".join(texts)
    try:
        raw = bytes.fromhex(joined)
    except ValueError:
        raw = b""
    if len(raw) * 2 != len(joined):  # whitespace would shorten it, so equal means every character was hex
        # Some rows are dirty: find them ("replace" keeps one byte per character), convert the others.
        chars = np.frombuffer(joined.encode("ascii", "replace"), np.uint8).reshape(-1, length)
        bad = np.asarray(_NOT_HEX[chars].any(axis=1), np.bool_)
        raw = bytes.fromhex("".join(_pick(texts, np.flatnonzero(~bad))))
        return np.frombuffer(raw, np.uint8).reshape(-1, length // 2), bad
    return np.frombuffer(raw, np.uint8).reshape(-1, length // 2), np.zeros(len(texts), np.bool_)


def _decode_rest(batch: EpcBatch, rows: NDArray[np.intp]) -> None:
    """Rows off the fast path: normalise each by the scalar rule, then decode them in blocks too."""
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
            if claimed:  # a GS1 header on a value of the wrong length
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
    texts: list[str] = source if set(map(type, source)) <= {str} else [v if type(v) is str else "" for v in source]
    lengths = np.fromiter(map(len, texts), np.int64, len(texts))
    leftovers = [np.flatnonzero(~_IS_BLOCK_LENGTH[np.minimum(lengths, len(_IS_BLOCK_LENGTH) - 1)])]
    for length in BLOCK_HEX_LENGTHS:
        rows = np.flatnonzero(lengths == length)
        if rows.size == 0:
            continue
        data, bad = _hex_rows(_pick(texts, rows), length)
        if bad.any():
            leftovers.append(rows[bad])
            rows = rows[~bad]
        decode_block(batch, rows, data)
    _decode_rest(batch, np.sort(np.concatenate(leftovers)))
    return batch

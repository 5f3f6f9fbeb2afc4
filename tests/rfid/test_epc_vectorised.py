"""decode_many agrees field for field with decode_epc, on large random mixes and on every junk kind."""

from __future__ import annotations

import numpy as np
import pytest

from rfid.epc import EpcBatch, decode_epc, decode_many
from rfid.epc.synthetic import mixed_epcs


def assert_agrees(values: list[object], batch: EpcBatch) -> None:
    assert len(batch) == len(values)
    for row, value in enumerate(values):
        scalar = decode_epc(value)  # type: ignore[arg-type]
        assert batch.epc(row) == scalar, (row, value)
        # The numeric columns themselves, not only the reassembled Epc.
        assert bool(batch.is_gs1[row]) == scalar.is_gs1
        assert batch.reason(row) == scalar.error
        if scalar.is_gs1:
            assert int(batch.filter[row]) == scalar.filter
            assert str(int(batch.gs1_key[row])).zfill(len(scalar.gs1_key or "")) == scalar.gs1_key
        else:
            assert batch.filter[row] == -1 and batch.gs1_key[row] == -1


@pytest.mark.parametrize("seed", [1, 2])
def test_large_mostly_valid_mix(seed: int) -> None:
    values = mixed_epcs(60_000, seed=seed, junk_share=0.1)
    assert_agrees(list(values), decode_many(values))


def test_large_mostly_junk_mix() -> None:
    values = mixed_epcs(60_000, seed=3, junk_share=0.9)
    batch = decode_many(values)
    assert_agrees(list(values), batch)
    assert 0 < int(batch.is_gs1.sum()) < len(values)  # the mix really holds both


def test_numpy_array_input() -> None:
    values = mixed_epcs(2_000, seed=5, junk_share=0.5)
    assert_agrees(list(values), decode_many(np.array(values)))


def test_bytes_and_odd_objects_in_a_batch() -> None:
    values: list[object] = [
        bytes.fromhex("3074257BF7194E4000001A85"),
        b"",
        bytearray(bytes.fromhex("3174257BF4499602D2000000")),
        None,
        7,
        "3074257BF7194E4000001A85",
        "30 74 25 7B F7 19 4E 40 00 00 1A 85 ",
        "3074257BF7194E4000001A8\u00e9",
        "\ufb00" * 24,
        "３０" * 12,
    ]
    assert_agrees(values, decode_many(values))  # type: ignore[arg-type]


def test_empty_batch() -> None:
    batch = decode_many([])
    assert len(batch) == 0 and batch.to_epcs() == []


def test_columns_of_the_gs1_examples() -> None:
    batch = decode_many(["3074257BF7194E4000001A85", "3174257BF4499602D2000000", "3634257BF7194E5B3770E40000000000000000000000000000"])
    assert batch.scheme.tolist() == [1, 3, 2]
    assert batch.gs1_key.tolist() == [80614141123458, 106141412345678908, 80614141123458]
    assert batch.serial.tolist() == [6789, -1, -1]
    assert batch.serial_text.tolist() == [None, None, "6789"]
    assert batch.company_prefix.tolist() == [614141] * 3 and batch.prefix_digits.tolist() == [7] * 3

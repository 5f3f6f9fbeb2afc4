"""Unique test data, one counter per test process. pytest imports tests/conftest.py as `conftest` while test
modules import it as `tests.conftest`: a counter kept there would exist twice and hand out the same GTIN twice,
so it lives here, in a module imported under one name only."""

from __future__ import annotations

from itertools import count

from rfid.epc.gs1 import gtin_check_digit

_counter = count(10_000)


def next_number() -> int:
    """A number no other call in this test process gets."""
    return next(_counter)


def make_gtin(item: int | None = None, prefix: str = "0614141") -> str:
    """A valid GTIN-14 (unique per call unless `item` is given)."""
    body = "0" + prefix + f"{(item if item is not None else next_number()) % 100000:05d}"
    return body + str(gtin_check_digit(body))

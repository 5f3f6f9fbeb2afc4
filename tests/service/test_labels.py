"""The SSCC's GS1-128 barcode for parcel labels, checked bar for bar against an independent encoder (python-barcode)."""

from __future__ import annotations

import re

import pytest
from barcode import get_barcode_class
from hypothesis import given
from hypothesis import strategies as st

from fulfil.labels.gs1_128 import QUIET_MODULES, human_readable, modules, svg
from rfid.epc.gs1 import gtin_check_digit


def _sscc(body17: str) -> str:
    return body17 + str(gtin_check_digit(body17))


@given(st.from_regex(r"[0-9]{17}", fullmatch=True))
def test_sscc_barcodes_match_an_independent_encoder(body: str) -> None:
    element = "00" + _sscc(body)
    assert modules(element) == get_barcode_class("gs1_128")(element).build()[0]


def test_the_svg_draws_every_bar_with_quiet_zones_and_says_what_it_is() -> None:
    element = "00106141410000000002"
    drawing = svg(element)
    pattern = modules(element)
    bars = re.findall(r'<rect x="([0-9.]+)" y="0" width="([0-9.]+)"', drawing)
    assert len(bars) == len(re.findall(r"1+", pattern))
    assert float(bars[0][0]) == pytest.approx(QUIET_MODULES * 0.495)
    assert 'role="img"' in drawing and 'aria-label="GS1-128 barcode (00) 1 0614141 000000000 2"' in drawing
    assert human_readable(element) == "(00) 1 0614141 000000000 2"


@pytest.mark.parametrize("bad", ["", "123", "00ABC", "0010614141000000000"])
def test_only_even_digit_strings_are_encoded(bad: str) -> None:
    with pytest.raises(ValueError):
        modules(bad)

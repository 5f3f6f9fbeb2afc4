"""The SSCC's GS1-128 barcode for parcel labels and the Code 128 of station signs, checked bar for bar against an
independent encoder (python-barcode)."""

from __future__ import annotations

import re

import pytest
from barcode import get_barcode_class
from hypothesis import given
from hypothesis import strategies as st

from fulfil.labels.gs1_128 import QUIET_MODULES, human_readable, modules, svg, text_modules, text_svg
from rfid.epc.gs1 import gtin_check_digit


def _sscc(body17: str) -> str:
    return body17 + str(gtin_check_digit(body17))


@given(st.from_regex(r"[0-9]{17}", fullmatch=True))
def test_sscc_barcodes_match_an_independent_encoder(body: str) -> None:
    element = "00" + _sscc(body)
    assert modules(element) == get_barcode_class("gs1_128")(element).build()[0]


# Letters and punctuation with at most three digits in a row: python-barcode switches to code set C on longer runs of
# digits, which encodes the same text with other symbols; this encoder keeps set B.
@given(st.from_regex(r"([a-zA-Z\-_. ]{1,4}[0-9]{0,3}){1,6}", fullmatch=True))
def test_sign_barcodes_match_an_independent_encoder(text: str) -> None:
    assert text_modules(text) == get_barcode_class("code128")(text).build()[0]


def test_a_station_sign_is_drawn_with_its_name_under_the_bars() -> None:
    drawing = text_svg("pack-station-1")
    assert 'aria-label="Code 128 barcode pack-station-1"' in drawing and ">pack-station-1</text>" in drawing
    assert len(re.findall(r"<rect ", drawing)) == len(re.findall(r"1+", text_modules("pack-station-1")))
    with pytest.raises(ValueError):
        text_modules("caf\u00e9")


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


def test_the_a6_pdf_reads_back_with_its_text_and_every_bar() -> None:
    """Read by an independent PDF reader (pypdf, strict): one A6 page, the text in Windows-1252 (French accents),
    and the bars drawn as rectangles that give back the barcode's modules at 0.495 mm each."""
    import io

    from pypdf import PdfReader

    from fulfil.labels.pdf import MM, label_pdf

    sscc = _sscc("00614141000000041")
    body = label_pdf(sscc=sscc, order_id=4, shipment_id=7, sender=["Lyon Part-Dieu"], to=["Zoé Bérénice (Mme)", "12 rue de la République", "69002 Lyon"], units=3)
    reader = PdfReader(io.BytesIO(body), strict=True)
    page = reader.pages[0]
    assert len(reader.pages) == 1
    assert (round(float(page.mediabox.width) / MM), round(float(page.mediabox.height) / MM)) == (105, 148)
    text = page.extract_text()
    for expected in ("Zoé Bérénice (Mme)", "12 rue de la République", "69002 Lyon", "Commande 4", "Expédition 7", human_readable("00" + sscc)):
        assert expected in text, expected
    rects = [tuple(float(v) for v in m) for m in re.findall(rb"([0-9.]+) ([0-9.]+) ([0-9.]+) ([0-9.]+) re", page.get_contents().get_data())]
    module = 0.495 * MM
    left = rects[0][0]
    pattern = ["0"] * len(modules("00" + sscc))
    for x, _, width, _ in rects:
        start, span = round((x - left) / module), round(width / module)
        assert abs((x - left) / module - start) < 0.01 and abs(width / module - span) < 0.01  # on the module grid
        pattern[start:start + span] = ["1"] * span
    assert "".join(pattern) == modules("00" + sscc)
    assert left >= QUIET_MODULES * module  # the quiet zone inside the page

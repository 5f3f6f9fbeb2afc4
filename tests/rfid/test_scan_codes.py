"""Scans as a keyboard wedge types them: retail barcodes, GS1 element strings in every dress, SSCCs and EPCs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfid.epc.gs1 import gtin_check_digit
from rfid.scan_codes import GS, parse


def _gtin14(body13: str) -> str:
    return body13 + str(gtin_check_digit(body13))


GTIN = "00614141123452"  # a GTIN-13 (0614141123452) padded to 14 digits


@pytest.mark.parametrize("text", [
    "0614141123452",  # EAN-13 from a retail barcode
    "614141123452",  # ... its UPC-A reading (12 digits)
    "00614141123452",  # GTIN-14
    "0614141123452\r\n",  # a scanner's Enter suffix (and a stray LF)
    "0100614141123452",  # GS1-128 without symbology identifier
    "]C10100614141123452",  # ... with it
    "]d20100614141123452" + "21ABC123",  # GS1 DataMatrix with a serial last
    "]C1" + "10LOT7" + GS + "0100614141123452",  # a variable field first, ended by GS
    "(01)00614141123452(21)ABC123",  # the bracketed human-readable form
    "0100614141123452" + "17261231" + "10LOT7",  # expiry and lot after the GTIN
])
def test_every_dress_of_a_product_barcode_is_its_gtin(text: str) -> None:
    scan = parse(text)
    assert (scan.kind, scan.gtin, scan.problem) == ("gtin", GTIN, None), scan


def test_a_serial_after_the_gtin_is_kept_and_a_substitute_separator_works() -> None:
    assert parse("(01)00614141123452(21)ABC123").serial == "ABC123"
    scan = parse("]C1" + "21SER9" + "#" + "0100614141123452", substitute="#")
    assert (scan.gtin, scan.serial) == (GTIN, "SER9")


def test_epcs_from_an_rfid_sled_are_items_or_parcels() -> None:
    item = parse("3074257bf7194e4000001a85\n")
    assert (item.kind, item.gtin, item.serial, item.epc) == ("epc", "80614141123458", "6789", "3074257BF7194E4000001A85")
    parcel = parse("3174257BF4499602D2000000")
    assert parcel.kind in ("sscc", "unknown")  # an SSCC-96 (when its fields are valid) is a parcel, never an item
    assert parcel.kind != "epc"


@pytest.mark.parametrize("text", ["106141410000000002", "00106141410000000002", "(00)106141410000000002", "]C100106141410000000002"])
def test_parcel_labels_are_ssccs(text: str) -> None:
    scan = parse(text)
    assert scan.kind == "sscc" and scan.sscc == "106141410000000002", scan


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty"),
    ("0614141123453", "check digit"),  # one digit wrong
    ("]C10100614141123453", "check digit"),
    ("hello", "not a GTIN"),
    ("(01)0061414112345", "digits"),
    ("(99)ABC", "without a GTIN"),
    ("0100614141123452" + "7777", "unknown Application Identifier"),
    ("E20000000000000000000000", "EPC"),  # hex, but no GS1 EPC header
])
def test_junk_is_refused_with_a_reason_never_raised(text: str, reason: str) -> None:
    scan = parse(text)
    assert scan.kind == "unknown" and scan.problem is not None and reason in scan.problem, scan


@given(st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0x2FF), max_size=60))
def test_any_text_is_classified_without_raising(text: str) -> None:
    scan = parse(text)
    assert scan.kind in ("gtin", "sscc", "epc", "unknown")
    assert (scan.problem is None) == (scan.kind != "unknown")


@given(st.from_regex(r"[0-9]{13}", fullmatch=True), st.from_regex(r"[A-Za-z0-9]{1,20}", fullmatch=True))
def test_the_same_gtin_whatever_the_dress(body: str, serial: str) -> None:
    gtin = _gtin14(body)
    dresses = [gtin, "01" + gtin, "]C101" + gtin, f"(01){gtin}", "]d2" + "21" + serial + GS + "01" + gtin, f"(01){gtin}(21){serial}"]
    if gtin.startswith("0"):
        dresses.append(gtin[1:])  # EAN-13
    for text in dresses:
        assert parse(text).gtin == gtin, text

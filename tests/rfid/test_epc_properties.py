"""Property-based tests: decode(encode(x)) == x, and no input of any kind crashes the decoders."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from rfid.epc import decode_epc, decode_many, encode_sgtin96, encode_sgtin198, encode_sscc96, encode_uri, gtin_check_digit
from rfid.epc.gs1 import AI82_CHARACTERS

digits13 = st.text(alphabet="0123456789", min_size=13, max_size=13)
digits17 = st.text(alphabet="0123456789", min_size=17, max_size=17)
prefix_lengths = st.integers(6, 12)
filters = st.integers(0, 7)
serial_texts = st.text(alphabet=sorted(AI82_CHARACTERS), min_size=1, max_size=20)


@given(digits13, st.integers(0, 2**38 - 1), prefix_lengths, filters)
def test_sgtin96_round_trip(body: str, serial: int, length: int, filter_value: int) -> None:
    gtin = body + str(gtin_check_digit(body))
    epc = decode_epc(encode_sgtin96(gtin, serial, length, filter_value))
    assert (epc.scheme, epc.gtin, epc.serial, epc.filter, epc.company_prefix) == ("sgtin-96", gtin, str(serial), filter_value, gtin[1 : 1 + length])
    assert encode_uri(epc.tag_uri or "") == epc.hex


@given(digits13, serial_texts, prefix_lengths, filters, st.sampled_from([50, 52]))
def test_sgtin198_round_trip(body: str, serial: str, length: int, filter_value: int, hex_digits: int) -> None:
    gtin = body + str(gtin_check_digit(body))
    hex_value = encode_sgtin198(gtin, serial, length, filter_value, hex_digits)
    epc = decode_epc(hex_value)
    assert (epc.scheme, epc.gtin, epc.serial, epc.filter) == ("sgtin-198", gtin, serial, filter_value)
    assert encode_uri(epc.tag_uri or "") == encode_sgtin198(gtin, serial, length, filter_value)


@given(digits17, prefix_lengths, filters)
def test_sscc96_round_trip(body: str, length: int, filter_value: int) -> None:
    sscc = body + str(gtin_check_digit(body))
    epc = decode_epc(encode_sscc96(sscc, length, filter_value))
    assert (epc.scheme, epc.sscc, epc.filter, epc.company_prefix) == ("sscc-96", sscc, filter_value, sscc[1 : 1 + length])
    assert encode_uri(epc.tag_uri or "") == epc.hex


@settings(max_examples=300)
@given(st.binary(max_size=40))
def test_no_byte_string_crashes(raw: bytes) -> None:
    epc = decode_epc(raw)
    assert epc.error is None or epc.scheme == "unknown"
    assert decode_many([raw, raw.hex()]).to_epcs() == [epc, decode_epc(raw.hex())]


hexish = st.text(alphabet=string.hexdigits + " \t\nxX0", max_size=60)


@settings(max_examples=300)
@given(st.lists(st.one_of(hexish, st.text(max_size=60), st.binary(max_size=32)), max_size=20))
def test_no_text_crashes_and_batch_agrees(values: list[str | bytes]) -> None:
    assert decode_many(values).to_epcs() == [decode_epc(v) for v in values]


@settings(max_examples=200)
@given(st.sampled_from(["30", "31", "36"]), st.integers(0, 2**208 - 1), st.sampled_from([22, 48, 50]))
def test_random_bits_under_gs1_headers_agree(header: str, bits: int, width: int) -> None:
    value = header + f"{bits:0{width}X}"[-width:]
    epc = decode_epc(value)
    assert decode_many([value]).epc(0) == epc
    if epc.is_gs1:
        assert encode_uri(epc.tag_uri or "")[: len(value)] == value

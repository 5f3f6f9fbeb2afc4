"""The scalar EPC codec: GS1 worked examples, every classified problem, encoding and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rfid.epc import (
    Epc,
    EpcError,
    decode_epc,
    encode_sgtin96,
    encode_sgtin198,
    encode_sscc96,
    encode_uri,
    gtin_check_digit,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "epc"
GS1_EXAMPLES = json.loads((FIXTURES / "gs1_examples.json").read_text())


def sgtin96_hex(filter_value: int, partition: int, field: int, serial: int) -> str:
    """A raw SGTIN-96 bit pattern, to build values no encoder would produce."""
    return f"{(0x30 << 88) | (filter_value << 85) | (partition << 82) | (field << 38) | serial:024X}"


def sscc96_hex(partition: int, field: int, reserved: int = 0) -> str:
    return f"{(0x31 << 88) | (partition << 82) | (field << 24) | reserved:024X}"


def sgtin198_hex(partition: int, field: int, codes: list[int], padding: int = 0) -> str:
    serial = 0
    for k, code in enumerate(codes):
        serial |= code << (7 * (19 - k))
    value = (0x36 << 190) | (1 << 187) | (partition << 184) | (field << 140) | serial
    return f"{(value << 10) | padding:052X}"


@pytest.mark.parametrize("example", GS1_EXAMPLES, ids=[e["tag_uri"] for e in GS1_EXAMPLES])
def test_gs1_worked_examples_decode_exactly(example: dict[str, object]) -> None:
    assert decode_epc(str(example["hex"])) == Epc(**example)  # type: ignore[arg-type]


@pytest.mark.parametrize("example", GS1_EXAMPLES, ids=[e["tag_uri"] for e in GS1_EXAMPLES])
def test_gs1_worked_examples_encode_from_their_tag_uri(example: dict[str, str]) -> None:
    # SGTIN-198 is emitted word-aligned (52 digits); the example is the same bits in 50 digits.
    assert encode_uri(example["tag_uri"]).startswith(example["hex"])
    assert decode_epc(encode_uri(example["tag_uri"])).tag_uri == example["tag_uri"]


def test_gs1_examples_encode_from_keys() -> None:
    assert encode_sgtin96("80614141123458", 6789, 7, filter=3) == "3074257BF7194E4000001A85"
    assert encode_sgtin96("80614141123458", 6789, 7) == "3034257BF7194E4000001A85"
    assert encode_sscc96("106141412345678908", 7, filter=3) == "3174257BF4499602D2000000"
    assert encode_sgtin198("80614141123458", "6789", 7, hex_digits=50) == GS1_EXAMPLES[3]["hex"]
    assert encode_sgtin198("80614141123458", "6789", 7) == GS1_EXAMPLES[3]["hex"] + "00"


def test_sgtin198_accepts_52_digits_and_lower_case_noise() -> None:
    example = GS1_EXAMPLES[3]
    assert decode_epc(example["hex"] + "00").tag_uri == example["tag_uri"]
    assert decode_epc(" 0x" + example["hex"].lower() + "\n").tag_uri == example["tag_uri"]


def test_spaced_and_prefixed_hex_is_normalised() -> None:
    epc = decode_epc("0x30 74 25 7b f7 19 4e 40 00 00 1a 85")
    assert epc.hex == "3074257BF7194E4000001A85"
    assert epc.tag_uri == "urn:epc:tag:sgtin-96:3.0614141.812345.6789"


def test_raw_bytes_are_the_epc_bank() -> None:
    assert decode_epc(bytes.fromhex("3174257BF4499602D2000000")).sscc == "106141412345678908"
    assert decode_epc(bytearray(b"")).error == "empty value"


def test_reader_sample_epcs_are_unknown_without_error() -> None:
    for line in (FIXTURES / "reader_epcs.txt").read_text().split():
        epc = decode_epc(line)
        assert (epc.scheme, epc.error, epc.is_gs1, epc.gtin) == ("unknown", None, False, None)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("E2801190A5021F80055817CA", None),  # factory TID-like EPC
        ("E2003412", None),
        ("000000000000000000000000", None),  # unprogrammed
        ("3274257BF7194E4000001A85", None),  # SGLN-96: another GS1 scheme, not decoded here
        ("", "empty value"),
        ("   ", "empty value"),
        ("0x", "empty value"),
        ("30Z4257BF7194E4000001A85", "not hexadecimal"),
        ("３０", "not hexadecimal"),  # full-width digits
        ("\ufb00", "not hexadecimal"),  # upper() would turn this ligature into "FF"
        ("307", "odd number of hex digits"),
        ("30", "sgtin-96 header: wrong length: needs 24 hex digits"),
        ("3074257BF7194E4000001A8500", "sgtin-96 header: wrong length: needs 24 hex digits"),
        ("3174257BF4499602D200000000", "sscc-96 header: wrong length: needs 24 hex digits"),
        ("3634257BF7194E4000001A85", "sgtin-198 header: wrong length: needs 50 or 52 hex digits"),
        ("307C257BF7194E4000001A85", "sgtin-96 header: partition 7 is invalid"),
        ("317C257BF4499602D2000000", "sscc-96 header: partition 7 is invalid"),
        (sgtin96_hex(1, 0, (2**40 - 1) << 4, 1), "sgtin-96 header: company prefix has more digits than the partition allows"),
        (sgtin96_hex(1, 0, 10, 1), "sgtin-96 header: item/serial reference has more digits than the partition allows"),
        (sgtin96_hex(1, 6, 999_999 << 24 | 10_000_000, 1), "sgtin-96 header: item/serial reference has more digits than the partition allows"),
        (sscc96_hex(6, 1_000_000 << 38), "sscc-96 header: company prefix has more digits than the partition allows"),
        (sscc96_hex(0, 100_000), "sscc-96 header: item/serial reference has more digits than the partition allows"),
        (sscc96_hex(5, 1, reserved=1), "sscc-96 header: the 24 reserved bits are not zero"),
        (sgtin198_hex(5, 1, [ord("A")], padding=1), "sgtin-198 header: bits after the 198-bit EPC are not zero"),
        (sgtin198_hex(7, 1, [ord("A")]), "sgtin-198 header: partition 7 is invalid"),
        (sgtin198_hex(5, 1, []), "sgtin-198 header: serial is empty"),
        (sgtin198_hex(5, 1, [ord("A"), 0, ord("B")]), "sgtin-198 header: serial has non-zero characters after its terminating zero"),
        (sgtin198_hex(5, 1, [ord(" ")]), "sgtin-198 header: serial holds a character outside the GS1 AI 82 set"),
        (sgtin198_hex(5, 1, [0x7F]), "sgtin-198 header: serial holds a character outside the GS1 AI 82 set"),
    ],
)
def test_junk_is_classified_not_raised(value: str, error: str | None) -> None:
    epc = decode_epc(value)
    assert (epc.scheme, epc.error) == ("unknown", error)
    assert not epc.is_gs1 and epc.gs1_key is None and epc.tag_uri is None


def test_non_text_input_is_classified() -> None:
    assert decode_epc(None).error == "not hexadecimal"  # type: ignore[arg-type]
    assert decode_epc(12345).error == "not hexadecimal"  # type: ignore[arg-type]


def test_every_partition_round_trips_at_its_limits() -> None:
    for digits in range(6, 13):
        gtin_body = "9" * 13
        gtin = gtin_body + str(gtin_check_digit(gtin_body))
        epc = decode_epc(encode_sgtin96(gtin, 2**38 - 1, digits, filter=7))
        assert (epc.gtin, epc.serial, epc.filter, len(epc.company_prefix or "")) == (gtin, str(2**38 - 1), 7, digits)
        sscc_body = "9" * 17
        sscc = sscc_body + str(gtin_check_digit(sscc_body))
        assert decode_epc(encode_sscc96(sscc, digits, filter=0)).sscc == sscc


def test_sgtin198_serial_uri_escaping() -> None:
    serial = "a\"%&/<>?!'()*+,-.:;=_"[:20]
    epc = decode_epc(encode_sgtin198("80614141123458", serial, 7))
    assert epc.serial == serial
    assert epc.tag_uri == "urn:epc:tag:sgtin-198:1.0614141.812345.a%22%25%26%2F%3C%3E%3F!'()*+,-.:;="
    assert epc.pure_uri == "urn:epc:id:sgtin:0614141.812345.a%22%25%26%2F%3C%3E%3F!'()*+,-.:;="
    assert encode_uri(epc.tag_uri or "") == epc.hex


def test_sgtin198_serial_with_dots_and_leading_zeros_keeps_them() -> None:
    epc = decode_epc(encode_uri("urn:epc:tag:sgtin-198:2.0614141.812345.00.1.A"))
    assert (epc.serial, epc.filter) == ("00.1.A", 2)


def test_properties_by_scheme() -> None:
    sgtin, sscc = decode_epc(GS1_EXAMPLES[0]["hex"]), decode_epc(GS1_EXAMPLES[2]["hex"])
    assert (sgtin.is_gs1, sgtin.gtin, sgtin.sscc) == (True, "80614141123458", None)
    assert (sscc.is_gs1, sscc.gtin, sscc.sscc) == (True, None, "106141412345678908")


@pytest.mark.parametrize(
    ("digits", "check"),
    [("8061414112345", 8), ("10614141234567890", 8), ("400638133393", 1), ("9638507", 4), ("0000000000000", 0)],
)
def test_gtin_check_digit(digits: str, check: int) -> None:
    assert gtin_check_digit(digits) == check


@pytest.mark.parametrize("digits", ["", "12a", "١٢٣"])
def test_gtin_check_digit_rejects_non_digits(digits: str) -> None:
    with pytest.raises(EpcError):
        gtin_check_digit(digits)


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda: encode_sgtin96("80614141123457", 1, 7), "check digit"),
        (lambda: encode_sgtin96("80614141123", 1, 7), "8, 12, 13 or 14 digits"),
        (lambda: encode_sgtin96("8061414112345", 1, 7), "check digit"),
        (lambda: encode_sgtin96("80614141123458", 1, 5), "6 to 12"),
        (lambda: encode_sgtin96("80614141123458", 1, 13), "6 to 12"),
        (lambda: encode_sgtin96("80614141123458", 1, 7, filter=8), "filter"),
        (lambda: encode_sgtin96("80614141123458", 2**38, 7), "serial"),
        (lambda: encode_sgtin96("80614141123458", -1, 7), "serial"),
        (lambda: encode_sgtin96("80614141123458", True, 7), "serial"),
        (lambda: encode_sgtin198("80614141123458", "", 7), "1 to 20"),
        (lambda: encode_sgtin198("80614141123458", "x" * 21, 7), "1 to 20"),
        (lambda: encode_sgtin198("80614141123458", "a b", 7), "AI 82"),
        (lambda: encode_sgtin198("80614141123458", "ab", 7, hex_digits=51), "50 or 52"),
        (lambda: encode_sscc96("106141412345678909", 7), "check digit"),
        (lambda: encode_sscc96("10614141234567890", 7), "18 digits"),
        (lambda: encode_uri("urn:epc:id:sgtin:0614141.812345.6789"), "tag URI"),
        (lambda: encode_uri("urn:epc:tag:sgln-96:1.0614141.12345.0"), "unsupported"),
        (lambda: encode_uri("urn:epc:tag:sgtin-96:1.0614141.812345.06789"), "leading zeros"),
        (lambda: encode_uri("urn:epc:tag:sgtin-96:1.0614141.81234.6789"), "13 digits"),
        (lambda: encode_uri("urn:epc:tag:sgtin-96:8.0614141.812345.6789"), "filter"),
        (lambda: encode_uri("urn:epc:tag:sgtin-96:1.0614141.812345"), "filter.prefix.item.serial"),
        (lambda: encode_uri("urn:epc:tag:sgtin-198:1.0614141.812345.a/b"), "not allowed"),
        (lambda: encode_uri("urn:epc:tag:sgtin-198:1.0614141.812345.a%41"), "invalid escape"),
        (lambda: encode_uri("urn:epc:tag:sscc-96:1.0614141.123456789"), "17 digits"),
        (lambda: encode_uri("urn:epc:tag:sscc-96:1.06141.12345678901"), "6 to 12"),
    ],
)
def test_encode_errors_carry_a_reason(call: object, reason: str) -> None:
    with pytest.raises(EpcError, match=reason):
        call()  # type: ignore[operator]


def test_epc_error_is_a_value_error() -> None:
    assert issubclass(EpcError, ValueError)

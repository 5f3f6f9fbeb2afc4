"""Parcel verification verdicts: complete, missing, extra, wrong quantity, foreign; cases and the parcel's SSCC."""

from __future__ import annotations

import pytest

from rfid.epc import encode_sgtin96, encode_sgtin198, encode_sscc96
from rfid.verification import ForeignTag, LineCount, ParcelProblem, TagClass, TagKind, classify_tag, verify_parcel

SHIRT = "80614141123458"  # GTIN-14 of the GS1 worked example
SOCKS = "00614141000012"
HAT = "00614141000029"
PARCEL = "106141412345678908"


def item(gtin: str, serial: int, filter: int = 1) -> str:
    return encode_sgtin96(gtin, serial, 7, filter)


def test_complete_parcel() -> None:
    shirts = [item(SHIRT, n) for n in (1, 2)]
    socks = [encode_sgtin198(SOCKS, "A/1", 7)]  # SGTIN-198 counts like SGTIN-96
    verdict = verify_parcel({SHIRT: 2, SOCKS: 1}, [*shirts, *socks])
    assert verdict.complete and verdict.problems == ()
    assert verdict.lines == (
        LineCount(SOCKS, 1, 1, tuple(socks)),
        LineCount(SHIRT, 2, 2, tuple(sorted(shirts))),
    )
    assert set(verdict.item_epcs) == {*shirts, *socks} and verdict.parcel_tag_seen is None


def test_missing_extra_and_wrong_quantity_are_listed() -> None:
    seen = [item(SHIRT, 1), item(HAT, 9), item(HAT, 10)]
    verdict = verify_parcel([(SHIRT, 3), (SOCKS, 1)], seen)
    assert not verdict.complete
    assert verdict.problems == (ParcelProblem.MISSING, ParcelProblem.WRONG_QUANTITY, ParcelProblem.EXTRA)
    assert verdict.missing == (LineCount(SOCKS, 1, 0, ()),)
    assert verdict.wrong_quantity == (LineCount(SHIRT, 3, 1, (item(SHIRT, 1),)),)
    assert verdict.extra == (LineCount(HAT, 0, 2, tuple(sorted([item(HAT, 9), item(HAT, 10)]))),)


def test_too_many_of_an_expected_gtin_is_wrong_quantity() -> None:
    verdict = verify_parcel({SHIRT: 1}, [item(SHIRT, 1), item(SHIRT, 2)])
    assert verdict.problems == (ParcelProblem.WRONG_QUANTITY,) and verdict.wrong_quantity[0].seen == 2


def test_foreign_tags_fail_the_parcel_with_reasons() -> None:
    other_parcel = encode_sscc96("006141410000000012", 7)
    seen = [item(SHIRT, 1), "E2801190A5021F80055817CA", "3074257BF7194E40000000", other_parcel]
    verdict = verify_parcel({SHIRT: 1}, seen, parcel_sscc=PARCEL)
    assert verdict.problems == (ParcelProblem.FOREIGN,)
    reasons = {tag.epc: tag.reason for tag in verdict.foreign}
    assert set(reasons) == {"E2801190A5021F80055817CA", "3074257BF7194E40000000", other_parcel}
    assert "another logistic unit" in reasons[other_parcel]
    assert reasons["3074257BF7194E40000000"]  # a bad-length SGTIN says why
    assert verdict.parcel_tag_seen is False


def test_case_tags_and_the_parcels_own_sscc_are_recognised_not_counted() -> None:
    own = encode_sscc96(PARCEL, 7)
    cases = [item(SHIRT, 50, filter=2), item(SHIRT, 51, filter=6)]
    verdict = verify_parcel({SHIRT: 1}, [item(SHIRT, 1), own, *cases])
    verdict_with_own = verify_parcel({SHIRT: 1}, [item(SHIRT, 1), own, *cases], parcel_sscc=PARCEL)
    assert verdict_with_own.complete and verdict_with_own.parcel_tag_seen is True
    assert verdict_with_own.cases == tuple(sorted(cases)) and verdict_with_own.lines[0].seen == 1
    assert not verdict.complete and verdict.foreign == (ForeignTag(own, f"SSCC {PARCEL} of another logistic unit"),)


def test_duplicate_and_lower_case_epcs_count_once() -> None:
    shirt = item(SHIRT, 1)
    assert verify_parcel({SHIRT: 1}, [shirt, shirt.lower(), f" {shirt} "]).complete


def test_expected_lines_accept_short_gtins_and_sum_duplicates() -> None:
    seen = [item(SOCKS, 1), item(SOCKS, 2)]
    assert verify_parcel([("614141000012", 1), ("00614141000012", 1)], seen).complete  # GTIN-12 and GTIN-14
    assert verify_parcel({SOCKS: 0}, []).complete  # a zero line expects nothing


@pytest.mark.parametrize(
    ("expected", "sscc"),
    [({"80614141123459": 1}, None), ({"123": 1}, None), ({SHIRT: -1}, None), ({SHIRT: True}, None), ({SHIRT: 1}, "1234")],
)
def test_malformed_shipment_lines_raise(expected: dict[str, int], sscc: str | None) -> None:
    with pytest.raises(ValueError):
        verify_parcel(expected, [], parcel_sscc=sscc)


def test_empty_parcel_is_missing_everything() -> None:
    verdict = verify_parcel({SHIRT: 2}, [])
    assert verdict.problems == (ParcelProblem.MISSING,) and verdict.missing == (LineCount(SHIRT, 2, 0, ()),)


def test_classify_tag_is_the_verdicts_definition() -> None:
    own, other = encode_sscc96(PARCEL, 7), encode_sscc96("006141410000000012", 7)
    assert classify_tag(item(SHIRT, 1).lower()) == TagClass(item(SHIRT, 1), TagKind.ITEM, gtin=SHIRT)
    assert classify_tag(item(SHIRT, 50, filter=2)).kind is TagKind.CASE
    assert classify_tag(own, PARCEL).kind is TagKind.PARCEL
    assert classify_tag(own) == TagClass(own, TagKind.FOREIGN, reason=f"SSCC {PARCEL} of another logistic unit")
    junk = classify_tag("E2801190A5021F80055817CA")
    assert junk.kind is TagKind.FOREIGN and junk.reason
    verdict = verify_parcel({SHIRT: 1}, [item(SHIRT, 1), own, other, "E2801190A5021F80055817CA"], parcel_sscc=PARCEL)
    assert {(f.epc, f.reason) for f in verdict.foreign} == {(t.epc, t.reason) for t in map(lambda e: classify_tag(e, PARCEL), [other, "E2801190A5021F80055817CA"])}

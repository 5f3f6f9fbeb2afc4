"""Parcel verification: do the tags seen stable at a pack station match the shipment's lines?

Every tag is decoded once with the EPC codec and falls in exactly one class (`classify_tag`, the one
definition, also used by ingest to say what an unregistered tag is): an item (an SGTIN at item level)
counted against its GTIN; a case-level SGTIN (filter 2 full case, 6 unit load), recognised but not
counted; the parcel's own SSCC tag; or a foreign tag (not GS1-encoded, invalid, or another logistic
unit's SSCC), which makes the parcel fail verification.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rfid.epc import SSCC_96, Epc, decode_epc
from rfid.epc.gs1 import check_key, normalise_gtin

# SGTIN filter values that mark a case or a pallet rather than a sellable item (TDS table 10-2).
CASE_FILTERS = frozenset({2, 6})


class ParcelProblem(str, enum.Enum):
    """One way a parcel can fail verification."""

    MISSING = "missing"  # an expected GTIN not seen at all
    WRONG_QUANTITY = "wrong_quantity"  # an expected GTIN seen, but not as many times as ordered
    EXTRA = "extra"  # items of GTINs the shipment does not contain
    FOREIGN = "foreign"  # tags that are not GS1 item tags at all


class TagKind(str, enum.Enum):
    """What a tag is, next to a parcel (see classify_tag)."""

    ITEM = "item"  # an item-level SGTIN: counted against its GTIN
    CASE = "case"  # a case or unit-load SGTIN: recognised, not counted
    PARCEL = "parcel"  # the parcel's own SSCC tag
    FOREIGN = "foreign"  # anything else: not GS1, invalid, another logistic unit's SSCC


@dataclass(frozen=True, slots=True)
class TagClass:
    """One tag's class; `gtin` for items and cases, `reason` for foreign tags."""

    epc: str
    kind: TagKind
    gtin: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class LineCount:
    """An expected line next to what was seen of it."""

    gtin: str
    expected: int
    seen: int
    epcs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ForeignTag:
    """A tag that cannot be an item of any shipment, and why."""

    epc: str
    reason: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of verifying one parcel; `complete` only when every list of problems is empty."""

    lines: tuple[LineCount, ...]  # every expected line, in GTIN order
    missing: tuple[LineCount, ...]  # expected lines with nothing seen
    wrong_quantity: tuple[LineCount, ...]  # expected lines seen too few or too many times
    extra: tuple[LineCount, ...]  # unexpected GTINs (expected = 0), with their EPCs
    foreign: tuple[ForeignTag, ...]
    cases: tuple[str, ...]  # case-level tags recognised, not counted
    parcel_tag_seen: bool | None  # None when no parcel SSCC was given

    @property
    def problems(self) -> tuple[ParcelProblem, ...]:
        """The kinds of problem present, in a fixed order."""
        found = (
            (ParcelProblem.MISSING, self.missing),
            (ParcelProblem.WRONG_QUANTITY, self.wrong_quantity),
            (ParcelProblem.EXTRA, self.extra),
            (ParcelProblem.FOREIGN, self.foreign),
        )
        return tuple(problem for problem, items in found if items)

    @property
    def complete(self) -> bool:
        """True when exactly the expected items, and nothing foreign, were seen."""
        return not self.problems

    @property
    def item_epcs(self) -> tuple[str, ...]:
        """The EPCs counted against expected lines (the items to mark packed)."""
        return tuple(epc for line in self.lines for epc in line.epcs)


def expected_quantities(lines: Mapping[str, int] | Iterable[tuple[str, int]]) -> dict[str, int]:
    """Checked GTIN-14 -> total quantity from shipment lines (GTIN-8/12/13/14); ValueError when malformed."""
    pairs = lines.items() if isinstance(lines, Mapping) else lines
    totals: dict[str, int] = {}
    for gtin, quantity in pairs:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise ValueError(f"quantity of GTIN {gtin} must be a non-negative integer, got {quantity!r}")
        key = normalise_gtin(gtin)  # EpcError is a ValueError
        totals[key] = totals.get(key, 0) + quantity
    return {gtin: quantity for gtin, quantity in totals.items() if quantity}


def classify_tag(tag: str | Epc, own_sscc: str | None = None) -> TagClass:
    """The class of one tag (EPC hex in any case and spacing, or already decoded) next to a parcel whose
    SSCC-18 is `own_sscc` (already checked; None: no parcel, so every SSCC is another logistic unit's)."""
    epc = tag if isinstance(tag, Epc) else decode_epc(tag.strip().upper())
    clean = epc.hex
    if not epc.is_gs1:
        return TagClass(clean, TagKind.FOREIGN, reason=epc.error or "not a GS1 EPC (unknown header)")
    if epc.scheme == SSCC_96:
        if own_sscc is not None and epc.sscc == own_sscc:
            return TagClass(clean, TagKind.PARCEL)
        return TagClass(clean, TagKind.FOREIGN, reason=f"SSCC {epc.sscc} of another logistic unit")
    if epc.gtin is None:  # a GS1 scheme the codec decodes without a GTIN: it cannot be an item of a shipment
        return TagClass(clean, TagKind.FOREIGN, reason=f"{epc.scheme} is not an item tag")
    return TagClass(clean, TagKind.CASE if epc.filter in CASE_FILTERS else TagKind.ITEM, gtin=epc.gtin)


def verify_parcel(
    expected: Mapping[str, int] | Iterable[tuple[str, int]],
    epcs: Iterable[str],
    *,
    parcel_sscc: str | None = None,
) -> Verdict:
    """Compare a shipment's expected lines (GTIN x quantity) with the EPCs seen stable in its packing zone."""
    wanted = expected_quantities(expected)
    own_sscc = check_key(parcel_sscc, 18, "SSCC") if parcel_sscc is not None else None
    by_gtin: dict[str, list[str]] = {}
    foreign: list[ForeignTag] = []
    cases: list[str] = []
    parcel_tag_seen = False
    for epc_hex in sorted({e.strip().upper() for e in epcs}):
        tag = classify_tag(epc_hex, own_sscc)
        if tag.kind is TagKind.FOREIGN:
            foreign.append(ForeignTag(epc_hex, tag.reason or "foreign"))
        elif tag.kind is TagKind.PARCEL:
            parcel_tag_seen = True
        elif tag.kind is TagKind.CASE:
            cases.append(epc_hex)
        elif tag.gtin is not None:
            by_gtin.setdefault(tag.gtin, []).append(epc_hex)
    lines = tuple(LineCount(g, q, len(by_gtin.get(g, ())), tuple(by_gtin.get(g, ()))) for g, q in sorted(wanted.items()))
    extra = tuple(LineCount(g, 0, len(found), tuple(found)) for g, found in sorted(by_gtin.items()) if g not in wanted)
    return Verdict(
        lines=lines,
        missing=tuple(line for line in lines if line.seen == 0),
        wrong_quantity=tuple(line for line in lines if 0 < line.seen != line.expected),
        extra=extra,
        foreign=tuple(foreign),
        cases=tuple(cases),
        parcel_tag_seen=parcel_tag_seen if own_sscc is not None else None,
    )

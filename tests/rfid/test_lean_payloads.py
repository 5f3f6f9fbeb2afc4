"""The fast paths give exactly what the checked paths give: timestamps, EPC hex, and Impinj rows vs parse + observe.

parse_timestamp tries a C parser on the common shapes first and normalise_epc_hex short-circuits canonical
hex; rfid.payloads.lean turns well-formed Impinj arrays straight into smoothing rows. Each is compared with
the general path on generated input, weird shapes included (9-digit fractions, offsets, lower-case hex ...).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from rfid.facts import Fact
from rfid.payloads import parse_impinj, parse_timestamp
from rfid.payloads.fields import _normalise_epc_hex_checked, _parse_timestamp_checked, normalise_epc_hex
from rfid.payloads.lean import _seconds_fast, impinj_rows
from rfid.smoothing import SmoothingEngine
from rfid.zones import Layout, PortalConfig, ZoneConfig

RECEIVED = datetime(2024, 3, 5, 14, 2, 30, 250000, tzinfo=UTC)
EPC = "3034257BF7194E40000003E9"


def _two(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.integers(lo, hi).map(lambda n: f"{n:02d}")


fractions = st.one_of(st.just(""), st.integers(0, 10).flatmap(lambda k: st.text("0123456789", min_size=k, max_size=k).map(lambda d: "." + d)),
                      st.sampled_from([",5", ",123456789", ".", ".12a", ".+01", ".1-3", ".١٢٣"]))
offsets = st.sampled_from(["Z", "z", " Z", "", "+00:00", "+0000", "-00:00", "+00", "-06:00", "+0530", "+05", "+24:00", "+12:60",
                           "+14:00", "Zz", "ZZ", "+0:00", "-0600 ", "+00:00Z"])
timestamps = st.one_of(
    st.builds(
        lambda y, mo, d, sep, h, mi, s, frac, off, pad: f"{pad}{y}-{mo}-{d}{sep}{h}:{mi}:{s}{frac}{off}{pad}",
        st.sampled_from(["2024", "0001", "9999", "0000", "1970", "2038", "２０24"]), _two(0, 13), _two(0, 32),
        st.sampled_from(["T", "T", " ", "t", "_", "W"]), _two(0, 25), _two(0, 61), _two(0, 61), fractions, offsets,
        st.sampled_from(["", "", " ", "\t"]),
    ),
    st.text(alphabet="0123456789-:T.Z+ W", max_size=32),
    st.sampled_from(["2024-W10-2T14:02:11.123Z", "20240305T140211.123Z", "2024-03-05T140211.12345Z", "2024-03-05T14:02Z",
                     "2024-03-05T14:02:11.1+1Z", "2024-03-05T14:02:11.123456789Z", "9999-12-31T23:59:59.999999999Z"]),
)


def _same_instant(a: datetime | None, b: datetime | None) -> bool:
    return a == b and (a is None or (a.utcoffset() == b.utcoffset() and a.timestamp() == b.timestamp()))  # type: ignore[union-attr]


@settings(max_examples=3000, deadline=None)
@given(timestamps)
@example("2024-03-05T14:02:11.120000001Z")
@example("2024-03-05T24:00:00Z")
@example("2024-02-30T00:00:00.000Z")
def test_timestamp_fast_path_matches_checked_path(text: str) -> None:
    assert _same_instant(parse_timestamp(text), _parse_timestamp_checked(text) if len(text) <= 64 else None)


@settings(max_examples=3000, deadline=None)
@given(timestamps, timestamps)
@example("2024-03-05T14:02:11.123456789Z", "2024-03-05T14:02:59.9Z")
@example("2024-02-29T23:59:59.999Z", "2023-02-29T23:59:59.999Z")
def test_seconds_by_minute_match_the_checked_timestamp(first: str, second: str) -> None:
    minutes: dict[str, int | None] = {}  # shared, as within one payload
    for text in (first, second, first):
        fast = _seconds_fast(text, minutes)
        checked = parse_timestamp(text)
        if fast is not None:  # None means "let the checked path decide"; a value must be the checked one, bit for bit
            assert checked is not None and fast == checked.timestamp(), text


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="0123456789abcdefABCDEFxX -G", max_size=130))
@example("3034257bf7194e40000003e9")
@example("0X3034")
@example("A" * 124)
@example("A" * 126)
def test_epc_short_circuit_matches_checked_path(text: str) -> None:
    assert normalise_epc_hex(text) == _normalise_epc_hex_checked(text)


def _layout() -> Layout:
    return Layout.build(
        [ZoneConfig("backroom", arrival_reads=1), ZoneConfig("floor", rssi_floor_dbm=-70.0), "exit-inner", "exit-outer"],
        {("r1", 1): "backroom", ("r1", 2): "floor", ("r1", None): "floor", ("r2", 1): "exit-inner", ("r2", 2): "exit-outer",
         ("bench", None): "backroom", (None, 1): "floor"},
        [PortalConfig("exit", "exit-inner", "exit-outer")],
    )


epc_values = st.one_of(
    st.sampled_from([EPC, EPC.lower(), "0x" + EPC, " " + EPC, EPC[:-1], "30-34-25", "", "ZZ", EPC + "00", "A" * 126]),
    st.text(alphabet="0123456789ABCDEFabcdef", min_size=1, max_size=30),
    st.integers(), st.none(),
)
numbers = st.one_of(st.integers(-10**5, 10**5), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                    st.text("0123456789.-e ", max_size=8), st.none(), st.just(10**400), st.just(-4550), st.just(-6150.5))
ports = st.one_of(st.integers(-2, 70000), st.sampled_from([1, 2, "2", 2.0, 2.5, True, None, "x", 65535, 65536, 0]))


@st.composite
def tag_events(draw: st.DrawFn) -> object:
    body: dict[str, object] = {}
    if draw(st.booleans()):
        body["epcHex"] = draw(epc_values)
    if draw(st.booleans()) or "epcHex" not in body:
        epc = draw(st.one_of(st.just(EPC), st.text("0123456789ABCDEF", max_size=12)))
        body["epc"] = draw(st.one_of(st.just(base64.b64encode(bytes.fromhex(epc) if len(epc) % 2 == 0 else b"").decode()), st.text(max_size=8)))
    if draw(st.integers(0, 3)):
        body["antennaPort"] = draw(ports)
    if draw(st.integers(0, 3)):
        body["peakRssiCdbm"] = draw(numbers)
    if draw(st.integers(0, 4)) == 0:
        body["lastSeenTime"] = draw(st.one_of(timestamps, st.none(), st.integers()))
    element: dict[str, object] = {"eventType": draw(st.sampled_from(["tagInventory", "tagInventory", "tagInventory", "antennaConnected", "", None, 3]))}
    if draw(st.integers(0, 9)) == 0:
        del element["eventType"]
    if draw(st.integers(0, 3)):
        element["timestamp"] = draw(st.one_of(timestamps, st.none(), st.integers()))
    if draw(st.booleans()):
        element["hostname"] = draw(st.sampled_from(["r1", "r2", "", None, 7, "bench"]))
    member = draw(st.sampled_from(["tagInventoryEvent", "tagInventoryEvent", "tagInventoryEvent", "antennaConnectedEvent"]))
    element[member] = draw(st.one_of(st.just(body), st.just(body), st.just(body), st.none(), st.just([body]), st.just("x")))
    return draw(st.one_of(st.just(element), st.just(element), st.just(element), st.just(element), st.integers(), st.just([element])))


payloads = st.one_of(
    st.lists(tag_events(), max_size=6).map(lambda els: json.dumps(els).encode()),
    tag_events().map(lambda el: json.dumps(el).encode()),
    st.sampled_from([b"", b"[", b"null", b"[]", b"{}", b"\xff", b"[1,", b'[{"eventType": "tagInventory"}]']),
)


def _rows_of_checked(payload: bytes, reader: str | None, reader_clock: bool) -> tuple[list[tuple[object, ...]], bool]:
    result = parse_impinj(payload, reader=reader, received_at=RECEIVED)
    rows = [(r.reader, r.antenna, r.epc, r.rssi_dbm, (r.seen_at if reader_clock and r.seen_at is not None else r.received_at).timestamp(), r.count)
            for r in result.reads]
    return rows, not result.rejections and not result.events


@settings(max_examples=3000, deadline=None)
@given(payloads, st.sampled_from([None, "r1", "r2", "bench"]), st.booleans())
def test_lean_rows_are_parse_then_observe(payload: bytes, reader: str | None, reader_clock: bool) -> None:
    lean = impinj_rows(payload, reader, reader_clock, RECEIVED.timestamp())
    checked, only_reads = _rows_of_checked(payload, reader, reader_clock)
    if lean is None:
        return  # the checked path decides; whether it must have been lean is tested below
    assert only_reads, "the lean path accepted a payload the checked path rejects or reads events from"
    assert lean == checked


def _plain(epc: str, stamp: str, port: int, rssi: int | float) -> dict[str, object]:
    return {"timestamp": stamp, "hostname": "bench", "eventType": "tagInventory",
            "tagInventoryEvent": {"epcHex": epc, "antennaPort": port, "peakRssiCdbm": rssi}}


plain_payloads = st.lists(
    st.builds(_plain, st.sampled_from([EPC, EPC[:-1] + "A", EPC.lower(), "E2801190200050A3C2C50312"]),
              st.sampled_from(["2024-03-05T14:02:11Z", "2024-03-05T14:02:11.123Z", "2024-03-05T14:02:11.123456Z",
                               "2024-03-05T14:02:11.123456789Z", "2024-03-05T15:02:11+01:00", "2024-03-05 14:02:11,5 +0000"]),
              st.integers(1, 2), st.one_of(st.integers(-9000, -1000), st.floats(-9000, -1000))),
    min_size=1, max_size=20,
).map(lambda els: json.dumps(els).encode())


@settings(max_examples=300, deadline=None)
@given(plain_payloads, st.booleans())
def test_lean_path_takes_plain_reads_and_smooths_them_the_same(payload: bytes, reader_clock: bool) -> None:
    lean = impinj_rows(payload, None, reader_clock, RECEIVED.timestamp())
    assert lean is not None  # well-formed reads never need the checked path
    source = "reader" if reader_clock else "receipt"
    by_rows, by_reads = SmoothingEngine(_layout(), time_source=source), SmoothingEngine(_layout(), time_source=source)
    by_rows.feed_rows(lean)
    by_reads.observe_all(parse_impinj(payload, received_at=RECEIVED).reads)
    facts: list[list[Fact]] = []
    for engine in (by_rows, by_reads):
        facts.append(engine.drain())
        engine.tick(RECEIVED.timestamp() + 3600)
        facts.append(engine.drain())
    assert facts[:2] == facts[2:]
    assert (by_rows.unmapped_reads, by_rows.floored_reads) == (by_reads.unmapped_reads, by_reads.floored_reads)


def test_out_of_range_rssi_is_a_rejection_not_a_crash() -> None:
    payload = b'[{"eventType":"tagInventory","tagInventoryEvent":{"epcHex":"%s","peakRssiCdbm":1%s}}]' % (EPC.encode(), b"0" * 400)
    result = parse_impinj(payload, received_at=RECEIVED)
    assert not result.reads and [r.reason[:18] for r in result.rejections] == ["bad peakRssiCdbm: "]
    assert impinj_rows(payload, None, True, RECEIVED.timestamp()) is None

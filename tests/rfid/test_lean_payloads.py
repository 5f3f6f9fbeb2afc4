"""The fast paths give exactly what the checked paths give: timestamps, EPC hex, and Impinj and Zebra rows vs parse + observe.

parse_timestamp tries a C parser on the common shapes first and normalise_epc_hex short-circuits canonical
hex; rfid.payloads.lean turns well-formed Impinj and Zebra arrays straight into smoothing rows. Each is compared
with the general path on generated input, weird shapes included (9-digit fractions, offsets, lower-case hex ...).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rfid.facts import Fact
from rfid.payloads import parse_impinj, parse_timestamp, parse_zebra
from rfid.payloads.fields import (
    _normalise_epc_hex_checked,
    _parse_timestamp_checked,
    normalise_epc_hex,
)
from rfid.payloads.lean import LEAN_PARSERS, Row, _timestamp, impinj_rows, zebra_rows
from rfid.reads import ParseResult
from rfid.smoothing import SmoothingEngine, TimeSource
from rfid.zones import Layout, PortalConfig, ZoneConfig

RECEIVED = datetime(2024, 3, 5, 14, 2, 30, 250000, tzinfo=UTC)
EPC = "3034257BF7194E40000003E9"


def _two(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.integers(lo, hi).map(lambda n: f"{n:02d}")


fractions = st.one_of(st.just(""), st.integers(0, 10).flatmap(lambda k: st.text("0123456789", min_size=k, max_size=k).map(lambda d: "." + d)),
                      st.sampled_from([",5", ",123456789", ".", ".12a", ".+01", ".1-3", ".١٢٣", ".12٣", ".123456٧89"]),
                      st.sampled_from([3, 6, 9]).flatmap(lambda k: st.text("0123456789+-:Zz., T", min_size=k, max_size=k).map(lambda d: "." + d)),
                      st.tuples(st.text("0123456789", min_size=6, max_size=6), st.text("0123456789+-:Zz., T٧a", min_size=1, max_size=3))
                      .map(lambda parts: "." + "".join(parts)))
offsets = st.sampled_from(["Z", "z", " Z", "", "+00:00", "+0000", "-00:00", "+00", "-06:00", "+0530", "+05", "+24:00", "+12:60",
                           "+14:00", "Zz", "ZZ", "+0:00", "-0600 ", "+00:00Z", "-0000", "+0060", "-2359", "+2359", "+2400", "+00.5",
                           "+00:60", "-23:59", "+0000Z", "+00000", "+０000", " +0000"])
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


@settings(max_examples=5000, deadline=None)
@given(timestamps)
@example("2023-02-24T10:14:42.851+0000")
@example("2024-03-05T08:02:11.125-0600")
@example("2024-03-05T14:02:11.123456789Z")
@example("0001-01-01T00:30:00.000+0100")
@example("9999-12-31T23:30:00.000-0100")
@example("2024-03-05T14:02:11.851+0060")
@example("2024-03-05T14:02:11.851+00.5")
@example("2024-02-30T14:02:11.851-0600")
@example("2024-03-05T24:00:00.000+0000")
@example("2024-03-05T14:02:11.12٣Z")
@example("2024-01-01T00:00:00.123456٧89Z")  # fromisoformat skips whatever follows the sixth fractional digit
@example("2024-03-05T14:02:11.123456a:.Z")
@example("2024-03-05T14:02:11.123456 89+0000")
def test_lean_timestamps_are_the_checked_ones(text: str) -> None:
    fast, checked = _timestamp(text), _parse_timestamp_checked(text) if len(text) <= 64 else None
    assert (fast is None) == (checked is None)
    if fast is not None and checked is not None:  # the same instant, the same seconds to the last bit
        assert fast == checked and fast.timestamp() == checked.timestamp()


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
# Frequencies (kHz, MHz) and phases as readers send them, around the bounds, and garbage.
radio_numbers = st.one_of(numbers, st.sampled_from([902750, 927.25, 865.7, 0.0, 0.001, 1, 10_000, 10_000.0001, 10**7, 10**7 + 1,
                                                    360, -360, 360.5, -180.0, 153.0, "915250", "927.25"]))
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
    for key in ("frequency", "phaseAngle"):
        if draw(st.integers(0, 3)) == 0:
            body[key] = draw(radio_numbers)
    if draw(st.integers(0, 4)) == 0:
        body["lastSeenTime"] = draw(st.one_of(timestamps, st.none(), st.integers()))
    element: dict[str, object] = {"eventType": draw(st.sampled_from(["tagInventory", "tagInventory", "tagInventory", "antennaConnected", "", None, 3]))}
    if draw(st.integers(0, 9)) == 0:
        del element["eventType"]
    if draw(st.integers(0, 3)):
        element["timestamp"] = draw(st.one_of(timestamps, st.none(), st.integers()))
    if draw(st.booleans()):
        element["hostname"] = draw(st.sampled_from(["r1", "r2", "", None, 7, "bench"]))
    if draw(st.integers(0, 5)) == 0:  # another member named like an event: the checked path infers a missing eventType from the first
        element[draw(st.sampled_from(["overflowEvent", "Event", "gpiTransitionEvent"]))] = draw(st.sampled_from([{}, {"count": 3}, None]))
    member = draw(st.sampled_from(["tagInventoryEvent", "tagInventoryEvent", "tagInventoryEvent", "antennaConnectedEvent"]))
    element[member] = draw(st.one_of(st.just(body), st.just(body), st.just(body), st.none(), st.just([body]), st.just("x")))
    return draw(st.one_of(st.just(element), st.just(element), st.just(element), st.just(element), st.integers(), st.just([element])))


payloads = st.one_of(
    st.lists(tag_events(), max_size=6).map(lambda els: json.dumps(els).encode()),
    tag_events().map(lambda el: json.dumps(el).encode()),
    st.sampled_from([b"", b"[", b"null", b"[]", b"{}", b"\xff", b"[1,", b'[{"eventType": "tagInventory"}]']),
)


zebra_stamps = st.builds(
    lambda y, mo, d, h, mi, s, frac, off: f"{y}-{mo}-{d}T{h}:{mi}:{s}{frac}{off}",
    st.sampled_from(["2024", "2024", "0001", "9999"]), _two(0, 13), _two(0, 31), _two(0, 24), _two(0, 60), _two(0, 60),
    st.sampled_from(["", ".851", ".851", ".123456", ".123456789", ".85"]),
    st.sampled_from(["+0000", "+0000", "-0600", "+0530", "+05:30", "-0000", "Z", "+0060", "+2400", "-2359", "+0100", "-0100"]),
)
zebra_types = st.sampled_from(["INVENTORY", "SIMPLE", "PORTAL", "CONVEYOR", "CUSTOM", "inventory", "Simple", "ınventory", "ſimple", "",
                               None, "heartbeat", "GPI", "ERROR", 7, ["INVENTORY"]])
counts = st.one_of(st.integers(-2, 12), st.sampled_from(["3", " 4 ", "+5", 2.0, 2.5, 1e300, True, None, "x", 10**20, "1e3", "٣", -0.0]))
names = st.sampled_from(["r1", "r2", "bench", "", None, 7, "FX9600F0F0F0"])


@st.composite
def zebra_reports(draw: st.DrawFn) -> object:
    data: dict[str, object] = {}
    if draw(st.integers(0, 9)):
        data["idHex"] = draw(epc_values)
    if draw(st.integers(0, 2)) == 0:
        data["format"] = draw(st.sampled_from(["epc", "EPC", "Epc", "tid", "", None, 3, "ＥＰＣ"]))
    for key, values in (("antenna", ports), ("peakRssi", numbers), ("reads", counts), ("eventNum", counts),
                        ("channel", radio_numbers), ("phase", radio_numbers)):
        if draw(st.integers(0, 3)):
            data[key] = draw(values)
    element: dict[str, object] = {}
    if draw(st.integers(0, 5)):
        element["type"] = draw(zebra_types)
    if draw(st.integers(0, 3)):
        element["timestamp"] = draw(st.one_of(zebra_stamps, timestamps, st.none(), st.integers()))
    for holder in (data, element):
        if draw(st.integers(0, 2)) == 0:
            holder[draw(st.sampled_from(["hostName", "hostname", "MAC"]))] = draw(names)
    if draw(st.integers(0, 9)):
        element["data"] = draw(st.one_of(st.just(data), st.just(data), st.just(data), st.none(), st.just([data]), st.just("x")))
    return draw(st.one_of(st.just(element), st.just(element), st.just(element), st.just(element), st.integers(), st.just([element])))


zebra_payloads = st.one_of(
    st.lists(zebra_reports(), max_size=6).map(lambda els: json.dumps(els).encode()),
    zebra_reports().map(lambda el: json.dumps(el).encode()),
    st.sampled_from([b"", b"[", b"null", b"[]", b"{}", b"\xff", b"[1,", b'[{"type": "INVENTORY"}]', b'{"data": {"idHex": "abcd"}}']),
)
CHECKED: dict[str, Callable[..., ParseResult]] = {"impinj": parse_impinj, "zebra": parse_zebra}


def _rows_of_checked(fmt: str, payload: bytes, reader: str | None, reader_clock: bool) -> tuple[list[Row], bool]:
    """What parse + SmoothingEngine.observe feed the engine, and whether the payload held nothing but reads."""
    result = CHECKED[fmt](payload, reader=reader, received_at=RECEIVED)
    rows = [(r.reader, r.antenna, r.epc, r.rssi_dbm, (r.seen_at if reader_clock and r.seen_at is not None else r.received_at).timestamp(), r.count)
            for r in result.reads]
    return rows, not result.rejections and not result.events


def _exactly(rows: list[Row]) -> list[tuple[str, ...]]:
    """Rows compared to the bit and by type: -54 would smooth like -54.0, but it is not the row the checked path gives."""
    return [tuple(f"{type(v).__name__}:{v!r}" for v in row) for row in rows]


def _lean_is_checked(fmt: str, payload: bytes, reader: str | None, reader_clock: bool) -> list[Row] | None:
    lean = LEAN_PARSERS[fmt](payload, reader, reader_clock, RECEIVED.timestamp())
    checked, only_reads = _rows_of_checked(fmt, payload, reader, reader_clock)
    if lean is not None:  # None: the checked path decides; whether it must have been lean is tested on plain payloads
        assert only_reads, "the lean path accepted a payload the checked path rejects or reads events from"
        assert _exactly(lean) == _exactly(checked)
    return lean


@settings(max_examples=3000, deadline=None)
@given(payloads, st.sampled_from([None, "r1", "r2", "bench"]), st.booleans())
@example(b'[{"eventType":"tagInventory","tagInventoryEvent":{"epcHex":"ABCD"}},{"tagInventoryEvent":{"epc":"ABCD"}}]', None, False)
@example(b'{"eventType":"tagInventory","hostname":"","tagInventoryEvent":{"epcHex":"ABCD"}}', None, False)
def test_lean_rows_are_parse_then_observe(payload: bytes, reader: str | None, reader_clock: bool) -> None:
    _lean_is_checked("impinj", payload, reader, reader_clock)


@settings(max_examples=4000, deadline=None)
@given(zebra_payloads, st.sampled_from([None, "r1", "r2", "bench"]), st.booleans())
@example(b'[{"type":"inventory","data":{"idHex":"abcd","antenna":"2","peakRssi":"-54","reads":2.0,"eventNum":" 7 "}}]', None, True)
@example(b'{"timestamp":"0001-01-01T00:30:00.000+0100","type":"SIMPLE","data":{"idHex":"ABCD"}}', "r1", True)
@example(b'{"type":"INVENTORY","data":{"idHex":"ABCD","reads":1e300}}', "r1", True)
@example(b'{"type":"SIMPLE","hostname":"r2","data":{"idHex":"ABCD","hostName":"","MAC":"00:A0:F8"}}', None, False)
def test_zebra_lean_rows_are_parse_then_observe(payload: bytes, reader: str | None, reader_clock: bool) -> None:
    _lean_is_checked("zebra", payload, reader, reader_clock)


def _smooths_the_same(fmt: str, payload: bytes, reader: str | None, reader_clock: bool) -> None:
    """The lean path takes the payload, and an engine fed its rows concludes what one fed the checked reads does."""
    lean = _lean_is_checked(fmt, payload, reader, reader_clock)
    assert lean is not None  # well-formed reads never need the checked path
    source: TimeSource = "reader" if reader_clock else "receipt"
    by_rows, by_reads = SmoothingEngine(_layout(), time_source=source), SmoothingEngine(_layout(), time_source=source)
    by_rows.feed_rows(lean)
    by_reads.observe_all(CHECKED[fmt](payload, reader=reader, received_at=RECEIVED).reads)
    facts: list[list[Fact]] = []
    for engine in (by_rows, by_reads):
        facts.append(engine.drain())
        engine.tick(RECEIVED.timestamp() + 3600)
        facts.append(engine.drain())
    assert facts[:2] == facts[2:]
    assert (by_rows.unmapped_reads, by_rows.floored_reads) == (by_reads.unmapped_reads, by_reads.floored_reads)


def _plain(epc: str, stamp: str, port: int | str, rssi: float, last_seen: str | None, protected: bool) -> dict[str, object]:
    body: dict[str, object] = {"epcHex": epc, "antennaPort": port, "peakRssiCdbm": rssi}
    if last_seen is not None:
        body["lastSeenTime"] = last_seen
    element: dict[str, object] = {"timestamp": stamp, "hostname": "bench", "eventType": "tagInventory", "tagInventoryEvent": body}
    if protected:  # the vendor's protected-mode sample: no eventType, only the tagInventoryEvent member
        del element["eventType"]
    return element


plain_stamps = st.sampled_from(["2024-03-05T14:02:11Z", "2024-03-05T14:02:11.123Z", "2024-03-05T14:02:11.123456Z",
                                "2024-03-05T14:02:11.123456789Z", "2024-03-05T15:02:11+01:00", "2024-03-05 14:02:11,5 +0000"])
plain_payloads = st.lists(
    st.builds(_plain, st.sampled_from([EPC, EPC[:-1] + "A", EPC.lower(), "E2801190200050A3C2C50312"]), plain_stamps,
              st.sampled_from([1, 2, "2"]), st.one_of(st.integers(-9000, -1000), st.floats(-9000, -1000)),
              st.one_of(st.none(), plain_stamps), st.booleans()),
    min_size=1, max_size=20,
).map(lambda els: json.dumps(els).encode())


@settings(max_examples=300, deadline=None)
@given(plain_payloads, st.booleans())
def test_lean_path_takes_plain_reads_and_smooths_them_the_same(payload: bytes, reader_clock: bool) -> None:
    _smooths_the_same("impinj", payload, None, reader_clock)


@st.composite
def plain_zebra_reports(draw: st.DrawFn) -> dict[str, object]:
    """Valid tag-data reports in every spelling parse_zebra accepts."""
    data: dict[str, object] = {"idHex": draw(st.sampled_from([EPC, EPC.lower(), "0x" + EPC.lower(), "e2801190200050a3c2c50312", "abcd"]))}
    optional: list[tuple[str, st.SearchStrategy[object]]] = [
        ("format", st.sampled_from(["epc", "EPC", "Epc"])), ("antenna", st.sampled_from([1, 2, "2", 1.0])),
        ("peakRssi", st.one_of(st.integers(-90, -30), st.floats(-90, -30), st.sampled_from(["-54", " -61.5"]))),
        ("reads", st.sampled_from([1, 9, "3", 2.0])), ("eventNum", st.sampled_from([0, 194, "195", 196.0])),
        ("hostName", st.sampled_from(["r1", "r2", "bench"])), ("channel", st.just(927.25)), ("PC", st.just("3000")),
    ]
    for key, values in optional:
        if draw(st.booleans()):
            data[key] = draw(values)
    element: dict[str, object] = {"data": data}
    kind = draw(st.sampled_from(["INVENTORY", "SIMPLE", "PORTAL", "CONVEYOR", "CUSTOM", "inventory", "Custom", "", None]))
    if kind is not None:
        element["type"] = kind
    if draw(st.integers(0, 4)):
        element["timestamp"] = draw(st.sampled_from(["2023-02-24T10:14:42.851+0000", "2024-03-05T08:02:11.125-0600", "2024-03-05T14:02:11.400+05:30",
                                                     "2024-03-05T14:02:11.500Z", "2024-03-05T08:00:00.000000001-0600", "2024-03-05T14:02:11+0000"]))
    if draw(st.integers(0, 4)) == 0:
        element["hostname"] = draw(st.sampled_from(["r1", "bench"]))
    return element


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.lists(plain_zebra_reports(), min_size=1, max_size=20), plain_zebra_reports()).map(lambda d: json.dumps(d).encode()),
       st.sampled_from([None, "r1", "r2", "bench"]), st.booleans())
def test_zebra_lean_path_takes_plain_reports_and_smooths_them_the_same(payload: bytes, reader: str | None, reader_clock: bool) -> None:
    _smooths_the_same("zebra", payload, reader, reader_clock)


def test_a_lean_parser_per_json_format() -> None:
    assert LEAN_PARSERS == {"impinj": impinj_rows, "zebra": zebra_rows} and LEAN_PARSERS.keys() == CHECKED.keys()


@pytest.mark.parametrize("name", ["impinj-tagInventory.json", "impinj-events.json", "zebra-iotc-data.json", "zebra-reports.json", "zebra-custom.json"])
def test_vendor_samples(name: str, payload: Callable[[str], bytes]) -> None:
    fmt = name.split("-")[0]
    for reader_clock in (True, False):
        lean = _lean_is_checked(fmt, payload(name), None, reader_clock)
        assert (lean is None) == (name == "impinj-events.json")  # the only one with reader events


def _zebra(data: str, head: str = '"type":"INVENTORY"') -> tuple[str, bytes]:
    return "zebra", ("{" + head + ',"data":{"idHex":"abcd",' + data + "}}").encode()


def _impinj(body: str, head: str = '"eventType":"tagInventory"') -> tuple[str, bytes]:
    return "impinj", ("{" + head + ',"tagInventoryEvent":{"epcHex":"ABCD",' + body + "}}").encode()


@pytest.mark.parametrize(
    ("fmt", "payload"),
    [_zebra('"PC":"3000"', '"type":7'), _zebra('"PC":"3000"', '"type":["INVENTORY"]'), _zebra('"PC":"3000"', '"type":"heartbeat"'),
     _zebra('"format":"tid"'), _zebra('"format":null'), _zebra('"idHex":"abc"'), _zebra('"antenna":0'), _zebra('"antenna":"65536"'),
     _zebra('"antenna":true'), _zebra('"peakRssi":"loud"'), _zebra('"peakRssi":null'), _zebra('"reads":0'), _zebra('"reads":2.5'),
     _zebra('"reads":1000001'), _zebra('"reads":1' + "0" * 400), _zebra('"peakRssi":5000'), _zebra('"peakRssi":-200.5'),
     _impinj('"peakRssiCdbm":900000'), _impinj('"peakRssiCdbm":-20000.5'),
     _zebra('"eventNum":-1'), _zebra('"eventNum":"x"'), _zebra('"PC":"3000"', '"type":"SIMPLE","timestamp":"2024-03-05T14:02:11.851+0060"'),
     _zebra('"PC":"3000"', '"type":"SIMPLE","timestamp":"0001-01-01T00:30:00.000+0100"'), ("zebra", b'[{"type":"SIMPLE","data":"x"}]'),
     ("zebra", b'[{"type":"SIMPLE","data":{"idHex":"abcd"}},"junk"]'), _impinj('"antennaPort":0'), _impinj('"lastSeenTime":"yesterday"'),
     _impinj('"peakRssiCdbm":"loud"', '"timestamp":"2024-03-05T14:02:11.123456a:.Z"'),
     _impinj('"antennaPort":1', '"overflowEvent":{"count":3}'), _impinj('"antennaPort":1', '"eventType":"antennaConnected"')],
)
def test_lean_path_declines_what_the_checked_path_rejects_or_reads_events_from(fmt: str, payload: bytes) -> None:
    result = CHECKED[fmt](payload, received_at=RECEIVED)
    assert result.rejections or result.events
    assert LEAN_PARSERS[fmt](payload, None, True, RECEIVED.timestamp()) is None


@pytest.mark.parametrize(
    ("fmt", "payload"),
    [("impinj", b'[{"eventType":"tagInventory","tagInventoryEvent":{"epcHex":"%s","peakRssiCdbm":1%s}}]' % (EPC.encode(), b"0" * 400)),
     ("zebra", b'[{"type":"INVENTORY","data":{"idHex":"%s","peakRssi":1%s}}]' % (EPC.encode(), b"0" * 400))],
)
def test_out_of_range_rssi_is_a_rejection_not_a_crash(fmt: str, payload: bytes) -> None:
    result = CHECKED[fmt](payload, received_at=RECEIVED)
    assert not result.reads and [r.reason[:9] for r in result.rejections] == ["bad peakR"]
    assert LEAN_PARSERS[fmt](payload, None, True, RECEIVED.timestamp()) is None


def test_remembered_epc_spellings_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rfid.payloads.lean.EPC_SPELLINGS_KEPT", 3)
    spellings: dict[str, str] = {}
    monkeypatch.setattr("rfid.payloads.lean._hex_spellings", spellings)
    epcs = [f"3034257bf7194e40000003{i:02x}" for i in range(10)]
    payload = json.dumps([{"type": "SIMPLE", "data": {"idHex": epc}} for epc in epcs * 2]).encode()
    rows = zebra_rows(payload, "r1", False, 0.0)
    assert rows is not None and [row[2] for row in rows] == [epc.upper() for epc in epcs * 2]
    assert 0 < len(spellings) <= 3 and all(spellings[k] == k.upper() for k in spellings)

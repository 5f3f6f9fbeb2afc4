"""Portal direction from the order of zones, and reader outages: unknown zones, no false departures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rfid.facts import Direction, PortalCrossed, TagArrived, TagDeparted, TagMoved, ZoneKnown, ZoneUnknown
from rfid.payloads import parse_impinj, parse_status
from rfid.reads import ReaderEvent, ReaderEventKind
from rfid.smoothing import SmoothingEngine
from rfid.zones import Layout, PortalConfig, ZoneConfig

T0 = 1_709_647_200.0
EPC = "3034257BF7194E40000003E9"


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


@pytest.fixture
def engine() -> SmoothingEngine:
    layout = Layout.build(
        [ZoneConfig("backroom"), ZoneConfig("salesfloor"), "exit-inner", "exit-outer"],
        {("r1", 1): "backroom", ("r1", 2): "salesfloor", ("r2", 1): "exit-inner", ("r2", 2): "exit-outer"},
        [PortalConfig("exit", "exit-inner", "exit-outer", silence_ms=1_500)],
    )
    return SmoothingEngine(layout)


def walk(engine: SmoothingEngine, first: int, second: int, start: float = 0.0, epc: str = EPC) -> None:
    """A tag carried past antenna `first` then `second` of r2: RSSI rises and falls at each in turn."""
    for i, rssi in enumerate((-70, -60, -50, -58, -68)):
        engine.feed("r2", first, epc, float(rssi), T0 + start + i * 0.1)
        engine.feed("r2", second, epc, float(rssi - 12), T0 + start + i * 0.1 + 0.05)  # the far side hears it faintly
    for i, rssi in enumerate((-69, -57, -49, -61, -71)):
        engine.feed("r2", second, epc, float(rssi), T0 + start + 0.5 + i * 0.1)
        engine.feed("r2", first, epc, float(rssi - 12), T0 + start + 0.5 + i * 0.1 + 0.05)


def test_inner_then_outer_is_out(engine: SmoothingEngine) -> None:
    walk(engine, 1, 2)
    engine.tick(T0 + 0.95 + 1.499)
    assert engine.drain() == []  # not concluded while the tag may still be in the doorway
    engine.tick(T0 + 0.95 + 1.5)
    assert engine.drain() == [PortalCrossed(EPC, "exit", Direction.OUT, at(2.45), at(0.2), at(0.7))]


def test_outer_then_inner_is_in(engine: SmoothingEngine) -> None:
    walk(engine, 2, 1)
    engine.tick(T0 + 10)
    (fact,) = engine.drain()
    assert isinstance(fact, PortalCrossed) and fact.direction is Direction.IN and fact.inner_at > fact.outer_at


def test_a_tag_seen_at_one_side_only_did_not_cross(engine: SmoothingEngine) -> None:
    for i in range(20):
        engine.feed("r2", 1, EPC, -50.0, T0 + i * 0.1)
    engine.tick(T0 + 10)
    assert engine.drain() == [] and engine.placement(EPC) is None  # portal zones do not place tags


def test_two_passages_of_the_same_tag_are_two_crossings(engine: SmoothingEngine) -> None:
    walk(engine, 1, 2, start=0.0)
    walk(engine, 2, 1, start=5.0)
    engine.tick(T0 + 20)
    assert [f.direction for f in engine.drain() if isinstance(f, PortalCrossed)] == [Direction.OUT, Direction.IN]


def test_many_tags_through_the_portal_keep_their_own_direction(engine: SmoothingEngine) -> None:
    for n in range(10):
        walk(engine, 1 if n % 2 else 2, 2 if n % 2 else 1, start=n * 0.01, epc=f"{n:024X}")
    engine.tick(T0 + 10)
    directions = {f.epc: f.direction for f in engine.drain() if isinstance(f, PortalCrossed)}
    assert directions == {f"{n:024X}": Direction.OUT if n % 2 else Direction.IN for n in range(10)}


def _arrive(engine: SmoothingEngine, port: int = 1, start: float = 0.0) -> None:
    for i in range(3):
        engine.feed("r1", port, EPC, -50.0, T0 + start + i * 0.1)


def test_reader_offline_makes_its_zones_unknown_and_blocks_departure(engine: SmoothingEngine) -> None:
    _arrive(engine)
    engine.reader_offline("r1", T0 + 1.0)
    assert engine.drain() == [
        TagArrived(EPC, "backroom", at(0.2)),
        ZoneUnknown("backroom", at(1.0), "reader offline"),
        ZoneUnknown("salesfloor", at(1.0), "reader offline"),
    ]
    assert engine.is_unknown("backroom") and not engine.is_unknown("exit-inner")
    engine.tick(T0 + 3600)  # an hour offline: the tag has not departed, we just cannot see it
    assert engine.drain() == [] and engine.placement(EPC) == "backroom"
    engine.reader_online("r1", T0 + 3600)
    assert engine.drain() == [ZoneKnown("backroom", at(3600)), ZoneKnown("salesfloor", at(3600))]
    engine.tick(T0 + 3600 + 4.9)
    assert engine.drain() == []  # resumes cleanly: a full silence period counts from the return
    engine.tick(T0 + 3605)
    assert engine.drain() == [TagDeparted(EPC, "backroom", at(3605), at(3600))]


def test_reads_during_the_outage_are_still_used(engine: SmoothingEngine) -> None:
    _arrive(engine)
    engine.reader_offline("r1", T0 + 1.0)
    _arrive(engine, start=50.0)  # e.g. buffered reads delivered late; nothing departs meanwhile
    engine.reader_online("r1", T0 + 60.0)
    assert [type(f) for f in engine.drain()] == [TagArrived, ZoneUnknown, ZoneUnknown, ZoneKnown, ZoneKnown]


def test_no_move_out_of_an_unknown_zone(engine: SmoothingEngine) -> None:
    _arrive(engine)
    engine.antenna_down("r1", 1, T0 + 1.0)
    for i in range(50):
        engine.feed("r1", 2, EPC, -40.0, T0 + 1.0 + i * 0.1)
    assert [type(f) for f in engine.drain()] == [TagArrived, ZoneUnknown]
    assert engine.placement(EPC) == "backroom" and not engine.is_unknown("salesfloor")
    engine.antenna_up("r1", 1, T0 + 6.0)
    for i in range(40):
        engine.feed("r1", 2, EPC, -40.0, T0 + 6.0 + i * 0.1)
    assert [type(f) for f in engine.drain()] == [ZoneKnown, TagMoved]


def test_a_zone_is_known_only_when_every_outage_has_ended(engine: SmoothingEngine) -> None:
    engine.antenna_down("r1", 1, T0)
    engine.reader_offline("r1", T0 + 1)
    engine.antenna_up("r1", 1, T0 + 2)
    assert engine.is_unknown("backroom")
    engine.reader_online("r1", T0 + 3)
    assert not engine.is_unknown("backroom")
    facts = [(type(f).__name__, f.zone) for f in engine.drain()]  # type: ignore[union-attr]
    assert facts.count(("ZoneUnknown", "backroom")) == 1 and facts.count(("ZoneKnown", "backroom")) == 1


def test_portal_passage_not_concluded_while_a_side_is_unknown(engine: SmoothingEngine) -> None:
    walk(engine, 1, 2)
    engine.reader_offline("r2", T0 + 1.0)
    engine.tick(T0 + 100)
    assert [type(f) for f in engine.drain()] == [ZoneUnknown, ZoneUnknown]
    engine.reader_online("r2", T0 + 100)
    engine.tick(T0 + 101.5)
    (fact,) = [f for f in engine.drain() if isinstance(f, PortalCrossed)]
    assert fact.direction is Direction.OUT and fact.at == at(101.5)


def test_overflow_restarts_silence_instead_of_departing(engine: SmoothingEngine) -> None:
    _arrive(engine)
    engine.reader_gap("r1", T0 + 4.0)  # the reader dropped events at 4 s: silence since 0.2 s proves nothing
    engine.tick(T0 + 8.9)
    assert [type(f) for f in engine.drain()] == [TagArrived]
    engine.tick(T0 + 9.0)
    assert engine.drain() == [TagDeparted(EPC, "backroom", at(9.0), at(4.0))]


def test_apply_parsed_reader_events(engine: SmoothingEngine) -> None:
    received = at(1.0)
    down = b'{"timestamp":"2024-03-05T14:00:01Z","hostname":"r1","eventType":"antennaDisconnected","antennaDisconnectedEvent":{"antennaPort":2}}'
    for event in parse_impinj(down, received_at=received).events:
        engine.apply(event)
    assert engine.is_unknown("salesfloor") and not engine.is_unknown("backroom")
    for event in parse_status(b"connection lost", reader="r2", received_at=received).events:
        engine.apply(event)
    assert engine.is_unknown("exit-inner") and engine.is_unknown("exit-outer")
    engine.apply(ReaderEvent(ReaderEventKind.READER_ONLINE, "r2", None, at(2.0)))
    engine.apply(ReaderEvent(ReaderEventKind.INVENTORY_STATUS, "r2", None, at(2.0), detail="idle"))  # no effect
    assert not engine.is_unknown("exit-inner")
    assert engine.drain()[0] == ZoneUnknown("salesfloor", at(1.0), "antenna 2 disconnected")

"""Smoothing scenarios: arrival thresholds, departure, RSSI floor, two-zone placement with hold-off."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rfid.facts import TagArrived, TagDeparted, TagMoved
from rfid.reads import TagRead
from rfid.smoothing import SmoothingEngine
from rfid.zones import Layout, LayoutError, PortalConfig, ZoneConfig

T0 = 1_709_647_200.0  # 2024-03-05T14:00:00Z
EPC = "3034257BF7194E40000003E9"
BACK, FLOOR, PACK = ("r1", 1), ("r1", 2), ("r3", 7)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


def store() -> Layout:
    return Layout.build(
        [
            ZoneConfig("backroom"),
            ZoneConfig("salesfloor", rssi_floor_dbm=-70.0),
            ZoneConfig("packing", arrival_reads=2, departure_ms=2_000),
            "exit-inner",
            "exit-outer",
        ],
        {("r1", 1): "backroom", ("r1", 2): "salesfloor", ("r2", 1): "exit-inner", ("r2", 2): "exit-outer", ("r3", None): "packing"},
        [PortalConfig("exit", "exit-inner", "exit-outer")],
    )


@pytest.fixture
def engine() -> SmoothingEngine:
    return SmoothingEngine(store(), hold_off_ms=2_000, rssi_tau_ms=2_000, move_margin_db=3.0)


def read(engine: SmoothingEngine, port: tuple[str, int], seconds: float, rssi: float | None = -50.0, epc: str = EPC, count: int = 1) -> None:
    engine.feed(port[0], port[1], epc, rssi, T0 + seconds, count)


def test_arrival_after_n_reads(engine: SmoothingEngine) -> None:
    read(engine, BACK, 0.0)
    read(engine, BACK, 0.1)
    assert engine.drain() == [] and engine.placement(EPC) is None
    read(engine, BACK, 0.2)
    assert engine.drain() == [TagArrived(EPC, "backroom", at(0.2))]
    read(engine, BACK, 0.3)
    assert engine.drain() == []  # arrives once


def test_arrival_after_t_ms_with_fewer_reads(engine: SmoothingEngine) -> None:
    read(engine, BACK, 0.0)
    read(engine, BACK, 0.999)
    assert engine.drain() == []
    read(engine, BACK, 1.0)
    assert engine.drain() == [TagArrived(EPC, "backroom", at(1.0))]


def test_per_zone_arrival_threshold_and_report_counts(engine: SmoothingEngine) -> None:
    read(engine, PACK, 0.0)
    read(engine, PACK, 0.1)  # packing needs two reads
    assert engine.drain() == [TagArrived(EPC, "packing", at(0.1))]
    read(engine, BACK, 0.0, epc="AAAA", count=9)  # a Zebra report of 9 reads counts 9
    assert engine.drain() == [TagArrived("AAAA", "backroom", at(0.0))]


def test_a_stray_read_never_arrives_and_is_forgotten(engine: SmoothingEngine) -> None:
    read(engine, BACK, 0.0)
    engine.tick(T0 + 60)
    assert engine.drain() == [] and len(engine) == 0


def test_departure_after_silence(engine: SmoothingEngine) -> None:
    for i in range(3):
        read(engine, BACK, i * 0.1)
    engine.drain()
    engine.tick(T0 + 0.2 + 4.999)
    assert engine.drain() == []
    engine.tick(at(0.2 + 5.0))  # datetimes work as well as seconds
    assert engine.drain() == [TagDeparted(EPC, "backroom", at(5.2), at(0.2))]
    engine.tick(T0 + 100)
    assert engine.drain() == [] and engine.placement(EPC) is None and len(engine) == 0


def test_departure_concluded_by_a_late_read_when_no_tick_came(engine: SmoothingEngine) -> None:
    for i in range(3):
        read(engine, BACK, i * 0.1)
    read(engine, BACK, 30.0)
    assert engine.drain()[1:] == [TagDeparted(EPC, "backroom", at(5.2), at(0.2))]
    for t in (30.1, 30.2):
        read(engine, BACK, t)
    assert engine.drain() == [TagArrived(EPC, "backroom", at(30.2))]


def test_rssi_floor_drops_weak_reads(engine: SmoothingEngine) -> None:
    for i in range(10):
        read(engine, FLOOR, i * 0.1, rssi=-75.0)
    assert engine.drain() == [] and engine.floored_reads == 10
    for i in range(3):
        read(engine, FLOOR, 1 + i * 0.1, rssi=-69.0)
    assert engine.drain() == [TagArrived(EPC, "salesfloor", at(1.2))]


def test_unmapped_reads_are_counted_not_placed(engine: SmoothingEngine) -> None:
    for i in range(5):
        engine.feed("r9", 1, EPC, -40.0, T0 + i)
    assert engine.drain() == [] and engine.unmapped_reads == 5


def test_last_read_does_not_place_a_tag_seen_by_two_zones(engine: SmoothingEngine) -> None:
    # Strong in the backroom, weakly (but often enough to qualify) on the sales floor next door.
    for i in range(40):
        read(engine, BACK, i * 0.1, rssi=-45.0)
        read(engine, FLOOR, i * 0.1 + 0.05, rssi=-62.0)  # always the later read
    facts = engine.drain()
    assert facts == [TagArrived(EPC, "backroom", at(0.2))]
    assert engine.placement(EPC) == "backroom" and engine.tags_in("salesfloor") == frozenset()


def test_move_only_after_hold_off(engine: SmoothingEngine) -> None:
    for i in range(10):
        read(engine, BACK, i * 0.1, rssi=-45.0)
    engine.drain()
    # The tag is carried out: now strong on the sales floor, faint in the backroom.
    first_better = None
    t = 1.0
    while t < 8.0:
        read(engine, FLOOR, t, rssi=-45.0)
        if first_better is None and engine._tags[EPC].challenger is not None:  # white-box: when the challenge began
            first_better = t
        read(engine, BACK, t + 0.05, rssi=-68.0)
        t = round(t + 0.1, 3)
    facts = engine.drain()
    assert len(facts) == 1 and isinstance(facts[0], TagMoved)
    moved = facts[0]
    assert (moved.from_zone, moved.to_zone) == ("backroom", "salesfloor")
    # Not at the first stronger read: the floor had to out-score the backroom for the whole hold-off.
    assert first_better is not None and first_better >= 1.2
    assert at(first_better + 2.0) <= moved.at <= at(first_better + 2.1)
    assert engine.placement(EPC) == "salesfloor" and engine.tags_in("salesfloor") == {EPC}
    assert engine.tags_in("backroom") == frozenset()


def test_a_brief_stronger_spell_elsewhere_is_held_off(engine: SmoothingEngine) -> None:
    # The tag stays in the backroom, read steadily; someone holds it up to the floor antenna for 0.8 s.
    for i in range(100):
        t = i * 0.1
        read(engine, BACK, t, rssi=-45.0)
        read(engine, FLOOR, t + 0.05, rssi=-35.0 if 3.0 <= t < 3.8 else -66.0)
    assert [type(f) for f in engine.drain()] == [TagArrived]
    assert engine.placement(EPC) == "backroom"
    # The same spell held for longer than the hold-off (plus the score's memory) does move it.
    longer = SmoothingEngine(store(), hold_off_ms=2_000, rssi_tau_ms=2_000, move_margin_db=3.0)
    for i in range(100):
        t = i * 0.1
        longer.feed("r1", 1, EPC, -45.0, T0 + t)
        longer.feed("r1", 2, EPC, -35.0 if 3.0 <= t < 6.0 else -66.0, T0 + t + 0.05)
    assert [type(f) for f in longer.drain()] == [TagArrived, TagMoved]


def test_tag_silent_in_its_zone_but_held_elsewhere_moves_instead_of_departing(engine: SmoothingEngine) -> None:
    # Weak-but-steady reads on the floor never out-score the strong backroom until the backroom stops.
    for i in range(20):
        read(engine, BACK, i * 0.1, rssi=-40.0)
        read(engine, FLOOR, i * 0.1 + 0.05, rssi=-69.0)
    engine.drain()
    margin = SmoothingEngine(store(), hold_off_ms=60_000)  # hold-off longer than departure: only expiry moves it
    for i in range(20):
        margin.feed("r1", 1, EPC, -40.0, T0 + i * 0.1)
        margin.feed("r1", 2, EPC, -69.0, T0 + i * 0.1 + 0.05)
    for i in range(60):
        margin.feed("r1", 2, EPC, -69.0, T0 + 2.0 + i * 0.1)
    margin.tick(T0 + 8.0)
    facts = margin.drain()
    assert facts[-1] == TagMoved(EPC, "backroom", "salesfloor", at(1.9 + 5.0))
    assert not any(isinstance(f, TagDeparted) for f in facts)


def test_observe_uses_reader_time_or_receipt_time() -> None:
    reader_clock = SmoothingEngine(store())
    receipt_clock = SmoothingEngine(store(), time_source="receipt")
    stuck = datetime(2000, 1, 1, tzinfo=UTC)  # a reader whose clock is stuck in 2000
    for i in range(3):
        tag_read = TagRead(EPC, "r1", 1, -50.0, stuck, at(i * 0.1))
        reader_clock.observe(tag_read)
        receipt_clock.observe(tag_read)
    assert reader_clock.drain() == [TagArrived(EPC, "backroom", at(-T0 + 946684800.0))]
    assert receipt_clock.drain() == [TagArrived(EPC, "backroom", at(0.2))]


def test_tick_emits_facts_in_time_order(engine: SmoothingEngine) -> None:
    for i in range(3):
        read(engine, PACK, 1.0 + i * 0.1, epc="AAAA")  # packing departs after 2 s
        read(engine, BACK, i * 0.1, epc="BBBB")  # backroom after 5 s
        read(engine, BACK, 3.0 + i * 0.1, epc="CCCC")
    engine.drain()
    engine.tick(T0 + 20)
    assert [(f.epc, f.at) for f in engine.drain()] == [("AAAA", at(3.2)), ("BBBB", at(5.2)), ("CCCC", at(8.2))]


@pytest.mark.parametrize(
    ("zones", "antennas", "portals", "message"),
    [
        (["a", "a"], {}, [], "twice"),
        (["a"], {("r", 1): "b"}, [], "unknown zone"),
        (["a", "b"], {}, [PortalConfig("p", "a", "c")], "unknown zone"),
        (["a", "b"], {}, [PortalConfig("p", "a", "a")], "two portals"),
        ([ZoneConfig("a", arrival_reads=0)], {}, [], "arrival_reads"),
    ],
)
def test_layout_validation(zones: list[str | ZoneConfig], antennas: dict[tuple[str | None, int | None], str], portals: list[PortalConfig], message: str) -> None:
    with pytest.raises(LayoutError, match=message):
        Layout.build(zones, antennas, portals)


def test_layout_lookup() -> None:
    layout = store()
    assert layout.zone_of("r1", 2) == "salesfloor" and layout.zone_of("r3", 99) == "packing" and layout.zone_of("r1", 3) is None
    assert layout.zones_of_reader("r1") == {"backroom", "salesfloor"} and layout.portal_zones() == {"exit-inner", "exit-outer"}

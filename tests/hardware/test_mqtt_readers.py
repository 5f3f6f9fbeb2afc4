"""MQTT reader emulators: payloads the rfid parsers accept, deterministic misbehaviour, and the wire (birth, will)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from conftest_mqtt import broker, fast_config, started  # noqa: F401
from hardware.mqtt import MqttSubscriber, ReceivedMessage
from rfid.payloads import parse_impinj, parse_payload, parse_status, parse_zebra
from rfid.reads import ReaderEventKind
from simulators.broker import MosquittoBroker
from simulators.mqtt_readers import MqttReaderSimulator, store_readers
from simulators.reader_payloads import PayloadFactory, ReaderFormat, ReaderSpec, gen2_crc, population, zones

TAGS = population(40, seed=3)


def spec(fmt: ReaderFormat, **options: object) -> ReaderSpec:
    values: dict[str, object] = {"name": f"{fmt}-1", "fmt": fmt, "tags_by_antenna": zones(TAGS, 4), "seed": 7}
    values.update(options)
    return ReaderSpec(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["impinj", "zebra"])
@pytest.mark.parametrize("per_payload", [1, 25])
def test_every_generated_payload_parses_without_rejections(fmt: ReaderFormat, per_payload: int) -> None:
    factory = PayloadFactory(spec(fmt, events_per_payload=per_payload, duplicate_rate=0.1, stray_rate=0.2), keep_history=True)
    reads = []
    for _ in range(200):
        for payload in factory.next_payloads():
            result = parse_payload(payload)  # auto-detection must pick the right format too
            assert result.ok, result.rejections[:1]
            reads.extend(result.reads)
            assert payload.startswith(b"[" if per_payload > 1 else b"{")
    truth = factory.stats.history
    assert factory.stats.reads == len(truth) == 200 * per_payload
    assert len(reads) == len(truth) + factory.stats.duplicates * per_payload
    assert {r.epc for r in reads} <= set(TAGS)
    assert {r.source for r in reads} == {fmt} and {r.reader for r in reads} == {f"{fmt}-1"}


def test_zebra_custom_reports_and_arrays_parse() -> None:
    factory = PayloadFactory(spec("zebra", zebra_type="CUSTOM", always_array=True))
    (payload,) = factory.next_payloads()
    document = json.loads(payload)
    assert isinstance(document, list) and set(document[0]["data"]) == {"eventNum", "format", "idHex"}
    result = parse_zebra(payload)
    assert result.ok and result.reads[0].seq == 1 and result.reads[0].antenna is None


def test_same_seed_same_bytes_and_another_seed_other_bytes() -> None:
    def run(seed: int) -> list[bytes]:
        factory = PayloadFactory(spec("zebra", seed=seed, duplicate_rate=0.2, stray_rate=0.2))
        return [p for _ in range(50) for p in factory.next_payloads()]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_duplicates_are_the_same_payload_twice_and_strays_come_from_another_zone() -> None:
    layout = zones(TAGS, 4)
    factory = PayloadFactory(spec("impinj", duplicate_rate=0.3, stray_rate=0.3), keep_history=True)
    batches = [factory.next_payloads() for _ in range(300)]
    doubles = [b for b in batches if len(b) == 2]
    assert len(doubles) == factory.stats.duplicates > 0 and all(a == b for a, b in doubles)
    strays = [r for r in factory.stats.history if r.stray]
    assert strays and all(r.epc not in layout[r.antenna] for r in strays)
    assert all(r.epc in layout[r.antenna] for r in factory.stats.history if not r.stray)
    assert max(r.rssi_dbm for r in strays) < min(r.rssi_dbm for r in factory.stats.history if not r.stray) + 5


def test_clock_skew_shifts_the_reader_timestamps_only() -> None:
    skewed = PayloadFactory(spec("zebra", clock_skew_s=-90.0), keep_history=True)
    (payload,) = skewed.next_payloads()
    (read,) = parse_zebra(payload).reads
    true_at = skewed.stats.history[0].true_at
    assert read.seen_at is not None and abs(read.seen_at - (true_at - timedelta(seconds=90))) < timedelta(milliseconds=1)
    assert b"+0000" in payload  # Zebra's offset style, no colon


def test_impinj_timestamps_carry_nine_fraction_digits() -> None:
    (payload,) = PayloadFactory(spec("impinj")).next_payloads()
    stamp = json.loads(payload)["timestamp"]
    assert stamp.endswith("Z") and len(stamp.split(".")[1]) == 10


def test_lost_events_leave_a_gap_in_zebra_event_numbers() -> None:
    factory = PayloadFactory(spec("zebra"))
    first = parse_zebra(factory.next_payloads()[0]).reads[0].seq
    factory.lose(5)
    second = parse_zebra(factory.next_payloads()[0]).reads[0].seq
    assert (first, second, factory.stats.lost_events) == (1, 7, 5)


def test_impinj_reader_events_parse_to_their_kinds() -> None:
    factory = PayloadFactory(spec("impinj"))
    kinds = [
        parse_impinj(p).events[0].kind
        for p in (factory.antenna_event(3, connected=False), factory.antenna_event(3, connected=True), factory.inventory_status("idle"), factory.overflow(412))
    ]
    assert kinds == [ReaderEventKind.ANTENNA_DISCONNECTED, ReaderEventKind.ANTENNA_CONNECTED, ReaderEventKind.INVENTORY_STATUS, ReaderEventKind.OVERFLOW]
    assert parse_impinj(factory.overflow(412)).events[0].detail == "412"
    with pytest.raises(ValueError):
        PayloadFactory(spec("zebra")).overflow(1)


@pytest.mark.parametrize("fmt", ["impinj", "zebra"])
def test_malformed_payloads_are_rejected_not_crashing(fmt: ReaderFormat) -> None:
    factory = PayloadFactory(spec(fmt, seed=11))
    for _ in range(30):
        result = parse_payload(factory.malformed(), fmt)
        assert result.rejections and not result.reads


def test_gen2_crc_matches_the_zebra_sample() -> None:
    # /work/shared/reference/samples/zebra-iotc-data.json: PC 3000, idHex ad99160040aac99525000025, CRC 518e
    assert gen2_crc("3000", "ad99160040aac99525000025") == "518e"


def test_simulated_readers_publish_birth_reads_and_will_through_a_broker(broker: MosquittoBroker) -> None:
    subscriber = started(MqttSubscriber(fast_config(broker), ["fulfil/readers/#"]))
    impinj, zebra = store_readers(fast_config(broker), tags=40, events_per_payload=10, duplicate_rate=0.2)
    try:
        impinj.connect()
        zebra.connect()
        sent = impinj.publish(20) + zebra.publish(20)
        assert impinj.flush() and zebra.flush()
        impinj.drop_connection()  # power cut: the broker publishes the will
        messages: list[ReceivedMessage] = []
        wanted = sent + 2  # every payload (duplicates included), the birth and the will
        while len(messages) < wanted:
            batch = subscriber.get_batch(500, 5.0)
            assert batch, f"got {len(messages)} of {wanted} messages"
            messages.extend(batch)
            subscriber.ack_all(batch)
        status = [parse_status(m.payload).events[0].kind for m in messages if m.topic.endswith("/status")]
        assert status == [ReaderEventKind.READER_ONLINE, ReaderEventKind.READER_OFFLINE]
        events = [m for m in messages if m.topic.endswith("/events")]
        assert all(parse_payload(m.payload).ok for m in events)
        assert {m.topic for m in events} == {"fulfil/readers/r700-backroom/events", "fulfil/readers/fx9600-salesfloor/events"}
    finally:
        zebra.close()
        subscriber.stop()


def test_a_paused_reader_publishes_nothing(broker: MosquittoBroker) -> None:
    with MqttReaderSimulator(spec("zebra"), fast_config(broker), "fulfil/readers/z/events") as reader:
        reader.pause()
        assert reader.publish(10) == 0
        reader.resume()
        assert reader.publish(3) == 3 and reader.flush()

"""Impinj and Zebra payloads -> exact reads, reader events and rejections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from rfid.payloads import detect_format, parse_auto, parse_impinj, parse_payload, parse_status, parse_zebra
from rfid.reads import ReaderEventKind, TagRead

Load = Callable[[str], bytes]


def test_impinj_vendor_sample_parses_exactly(payload: Load, received: datetime) -> None:
    raw = payload("impinj-tagInventory.json")
    result = parse_impinj(raw, received_at=received)
    assert result.ok and not result.events
    assert result.reads == [
        TagRead(
            epc="E2801190A5021F80055817CA",
            reader="impinj-13-f8-f5",
            antenna=1,
            rssi_dbm=-26.5,
            seen_at=datetime(2021, 7, 9, 23, 35, 59, 278427, tzinfo=UTC),
            received_at=received,
            count=1,
            seq=None,
            source="impinj",
        )
    ]
    assert result.reads[0].raw == raw


def test_zebra_vendor_sample_parses_exactly(payload: Load, received: datetime) -> None:
    raw = payload("zebra-iotc-data.json")
    (read,) = parse_zebra(raw, received_at=received).reads
    assert read == TagRead(
        epc="AD99160040AAC99525000025",
        reader=None,
        antenna=1,
        rssi_dbm=-54.0,
        seen_at=datetime(2023, 2, 24, 10, 14, 42, 851000, tzinfo=UTC),
        received_at=received,
        count=9,
        seq=194,
        source="zebra",
        frequency_khz=927_250,  # channel 927.25 MHz
        phase_deg=0.0,
    )
    assert read.raw == raw


def test_caller_reader_id_overrides_hostname(payload: Load, received: datetime) -> None:
    (read,) = parse_impinj(payload("impinj-tagInventory.json"), reader="store-7/backroom", received_at=received).reads
    assert read.reader == "store-7/backroom"
    (read,) = parse_zebra(payload("zebra-iotc-data.json"), reader="fx9600-1", received_at=received).reads
    assert read.reader == "fx9600-1"


def test_impinj_array_of_every_event_type(payload: Load, received: datetime) -> None:
    result = parse_impinj(payload("impinj-events.json"), received_at=received)
    assert result.ok
    first, second = result.reads
    assert first.epc == "3034257BF7194E40000003E9" and first.antenna == 2 and first.rssi_dbm == -61.5
    # lastSeenTime (nanoseconds truncated) wins over the event timestamp
    assert first.seen_at == datetime(2024, 3, 5, 14, 2, 11, 120000, tzinfo=UTC)
    assert second.epc == "3034257BF7194E40000003EA"  # from the base64 `epc`
    assert second.rssi_dbm == -48.25 and second.seen_at == datetime(2024, 3, 5, 14, 2, 11, 223000, tzinfo=UTC)
    assert b'"antennaPort":3' in second.raw and b"antennaPort\":2" not in second.raw  # each element keeps its own raw
    kinds = [(e.kind, e.antenna, e.detail) for e in result.events]
    assert kinds == [
        (ReaderEventKind.ANTENNA_DISCONNECTED, 4, None),
        (ReaderEventKind.ANTENNA_CONNECTED, 4, None),
        (ReaderEventKind.INVENTORY_STATUS, None, "running"),
        (ReaderEventKind.OVERFLOW, None, "412"),
        (ReaderEventKind.OTHER, None, "gpiTransition"),
    ]
    assert all(e.reader == "r700-backroom" for e in result.events)
    assert result.events[0].at == datetime(2024, 3, 5, 14, 2, 12, tzinfo=UTC)


def test_zebra_array_of_every_report_type(payload: Load, received: datetime) -> None:
    result = parse_zebra(payload("zebra-reports.json"), received_at=received)
    assert result.ok
    assert [(r.epc[:8], r.antenna, r.rssi_dbm, r.count, r.seq) for r in result.reads] == [
        ("3034257B", 2, -61.0, 4, 1001),
        ("3034257B", 1, -48.5, 1, 1002),
        ("3074257B", 3, -57.0, 2, 1003),
        ("3174257B", 4, -66.0, 1, 1004),
        ("E2801190", None, None, 1, 1006),
    ]
    stamps = [r.seen_at for r in result.reads]
    base = datetime(2024, 3, 5, 14, 2, 11, tzinfo=UTC)
    # -0600, +0000, +01:00 and Z offsets all land on the same UTC clock
    assert stamps == [base + timedelta(milliseconds=ms) for ms in (125, 300, 400, 500, 600)]
    assert all(r.epc == r.epc.upper() for r in result.reads)


def test_zebra_custom_report_with_only_eventnum_format_idhex(payload: Load, received: datetime) -> None:
    (read,) = parse_zebra(payload("zebra-custom.json"), received_at=received).reads
    assert (read.epc, read.seq, read.antenna, read.rssi_dbm, read.count) == ("3034257BF400004000000007", 77, None, None, 1)
    assert read.seen_at == datetime(2024, 3, 5, 20, 5, tzinfo=UTC)
    bare = parse_zebra(b'{"data":{"eventNum":5,"format":"epc","idHex":"abcd"}}', received_at=received)
    assert bare.reads[0].epc == "ABCD" and bare.reads[0].seen_at is None and bare.reads[0].at == received


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"42", "not a JSON object"),
        (b'{"type":"INVENTORY"}', "without a data object"),
        (b'{"type":"INVENTORY","data":{"idHex":"XYZ"}}', "idHex"),
        (b'{"type":"INVENTORY","data":{"idHex":"ABC"}}', "idHex"),
        (b'{"type":"INVENTORY","data":{"idHex":"ABCD","format":"tid"}}', "not an EPC"),
        (b'{"type":"INVENTORY","data":{"idHex":"ABCD","antenna":0}}', "bad antenna"),
        (b'{"type":"INVENTORY","data":{"idHex":"ABCD","peakRssi":"loud"}}', "bad peakRssi"),
        (b'{"type":"INVENTORY","data":{"idHex":"ABCD","reads":0}}', "bad reads"),
        (b'{"type":"INVENTORY","data":{"idHex":"ABCD","reads":1000001}}', "bad reads"),
        (b'{"type":"INVENTORY","data":{"idHex":"ABCD","peakRssi":5000}}', "bad peakRssi"),
        (b'{"type":"INVENTORY","data":{"idHex":"ABCD","peakRssi":-1e300}}', "bad peakRssi"),
        (b'{"type":"INVENTORY","data":{"idHex":"ABCD","reads":1' + b"0" * 400 + b'}}', "bad reads"),  # would overflow smoothing's power
        (b'{"type":"INVENTORY","data":{"idHex":"ABCD","eventNum":-1}}', "bad eventNum"),
        (b'{"type":"INVENTORY","timestamp":"2024-13-01T00:00:00Z","data":{"idHex":"ABCD"}}', "bad timestamp"),
        (b'{"type":7,"data":{"idHex":"ABCD"}}', "type is not a string"),
        (b'{"type":"INVENTORY","data":{"idHex":"ABCD","channel":"ch7"}}', "bad channel"),
        (b'{"type":"INVENTORY","data":{"idHex":"ABCD","channel":0}}', "bad channel"),
        (b'{"type":"INVENTORY","data":{"idHex":"ABCD","channel":1e300}}', "bad channel"),  # MHz * 1000 is inf
        (b'{"type":"INVENTORY","data":{"idHex":"ABCD","phase":720.0}}', "bad phase"),
        (b'{"type":"INVENTORY","data":{"idHex":"ABCD","phase":null}}', "bad phase"),
    ],
)
def test_zebra_rejections_carry_a_reason(raw: bytes, reason: str, received: datetime) -> None:
    result = parse_zebra(raw, received_at=received)
    assert not result.reads and len(result.rejections) == 1
    assert reason in result.rejections[0].reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"[1]", "not a JSON object"),
        (b"{}", "no eventType"),
        (b'{"eventType":"tagInventory","tagInventoryEvent":{}}', "epcHex"),
        (b'{"eventType":"tagInventory","tagInventoryEvent":{"epc":"!!"}}', "epcHex"),
        (b'{"eventType":"tagInventory","tagInventoryEvent":{"epcHex":"ABCD","antennaPort":"x"}}', "bad antennaPort"),
        (b'{"eventType":"tagInventory","tagInventoryEvent":{"epcHex":"ABCD","peakRssiCdbm":null}}', "bad peakRssiCdbm"),
        # 9,000 dBm: 10 ** 900 would overflow smoothing's power sum, so the read must not reach it
        (b'{"eventType":"tagInventory","tagInventoryEvent":{"epcHex":"ABCD","peakRssiCdbm":900000}}', "bad peakRssiCdbm"),
        (b'{"eventType":"tagInventory","tagInventoryEvent":{"epcHex":"ABCD","lastSeenTime":"yesterday"}}', "lastSeenTime"),
        (b'{"eventType":"tagInventory","tagInventoryEvent":[]}', "not an object"),
        (b'{"eventType":"antennaConnected","antennaConnectedEvent":{}}', "antennaPort"),
        (b'{"timestamp":17,"tagInventoryEvent":{"epcHex":"ABCD"}}', "bad timestamp"),
        (b'{"eventType":"tagInventory","tagInventoryEvent":{"epcHex":"ABCD","frequency":-902750}}', "bad frequency"),
        (b'{"eventType":"tagInventory","tagInventoryEvent":{"epcHex":"ABCD","frequency":true}}', "bad frequency"),
        (b'{"eventType":"tagInventory","tagInventoryEvent":{"epcHex":"ABCD","phaseAngle":"north"}}', "bad phaseAngle"),
    ],
)
def test_impinj_rejections_carry_a_reason(raw: bytes, reason: str, received: datetime) -> None:
    result = parse_impinj(raw, received_at=received)
    assert not result.reads and not result.events and len(result.rejections) == 1
    assert reason in result.rejections[0].reason


def test_frequency_and_phase_are_carried_in_khz_and_degrees(received: datetime) -> None:
    impinj = b'{"eventType":"tagInventory","tagInventoryEvent":{"epcHex":"ABCD","frequency":902750,"phaseAngle":123.75}}'
    zebra = b'{"type":"INVENTORY","data":{"idHex":"ABCD","channel":865.7,"phase":-42.5}}'
    (read,) = parse_impinj(impinj, received_at=received).reads
    assert (read.frequency_khz, read.phase_deg, read.frequency_index) == (902_750, 123.75, None)
    (read,) = parse_zebra(zebra, received_at=received).reads
    assert (read.frequency_khz, read.phase_deg) == (865_700, -42.5)  # Zebra channel MHz -> kHz
    (read,) = parse_zebra(b'{"type":"INVENTORY","data":{"idHex":"ABCD"}}', received_at=received).reads
    assert (read.frequency_khz, read.phase_deg) == (None, None)  # not reported: unknown, not zero


def test_one_bad_element_does_not_spoil_the_array(received: datetime) -> None:
    raw = b'[{"type":"INVENTORY","data":{"idHex":"ABCD"}}, "junk", {"type":"INVENTORY","data":{"idHex":"BEEF"}}]'
    result = parse_zebra(raw, received_at=received)
    assert [r.epc for r in result.reads] == ["ABCD", "BEEF"]
    assert [(j.index, j.source) for j in result.rejections] == [(1, "zebra")]


def test_zebra_management_events_are_events_not_reads(received: datetime) -> None:
    result = parse_zebra(b'{"type":"heartbeat","timestamp":"2024-03-05T14:00:00+0000","data":{"cpu":{"system":12}}}', received_at=received)
    assert not result.reads and result.ok
    assert result.events[0].kind is ReaderEventKind.OTHER and result.events[0].detail == "HEARTBEAT"


def test_zebra_hostname_from_payload_when_configured(received: datetime) -> None:
    result = parse_zebra(b'{"type":"SIMPLE","data":{"idHex":"ABCD","hostName":"FX9600F0F0F0"}}', received_at=received)
    assert result.reads[0].reader == "FX9600F0F0F0"


def test_receipt_time_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC)
    (read,) = parse_zebra(b'{"type":"SIMPLE","data":{"idHex":"ABCD"}}').reads
    assert before <= read.received_at <= datetime.now(UTC)
    assert read.received_at.tzinfo is not None and read.received_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("impinj-tagInventory.json", "impinj"), ("impinj-events.json", "impinj"), ("zebra-iotc-data.json", "zebra"),
     ("zebra-reports.json", "zebra"), ("zebra-custom.json", "zebra"), ("handheld.txt", "text")],
)
def test_detect_format(name: str, expected: str, payload: Load) -> None:
    assert detect_format(payload(name)) == expected


def test_parse_auto_and_parse_payload_agree_with_the_named_parser(payload: Load, received: datetime) -> None:
    raw = payload("zebra-reports.json")
    assert parse_auto(raw, received_at=received) == parse_zebra(raw, received_at=received)
    assert parse_payload(raw, "zebra", received_at=received) == parse_zebra(raw, received_at=received)
    with pytest.raises(ValueError, match="unknown reader format"):
        parse_payload(raw, "llrp")


@pytest.mark.parametrize(
    ("raw", "kind"),
    [(b"connection lost", ReaderEventKind.READER_OFFLINE), (b'"connected"', ReaderEventKind.READER_ONLINE),
     (b'{"status": "offline"}', ReaderEventKind.READER_OFFLINE), (b"Connected\n", ReaderEventKind.READER_ONLINE)],
)
def test_will_and_birth_messages(raw: bytes, kind: ReaderEventKind, received: datetime) -> None:
    (event,) = parse_status(raw, reader="r700-1", received_at=received).events
    assert (event.kind, event.reader, event.received_at) == (kind, "r700-1", received)


def test_unknown_status_message_is_rejected(received: datetime) -> None:
    result = parse_status(b"\x00\xffgarbage", received_at=received)
    assert not result.events and "not a connection status" in result.rejections[0].reason


def test_timezone_conversion_keeps_the_instant(received: datetime) -> None:
    raw = b'{"type":"SIMPLE","timestamp":"2024-03-05T08:00:00.000000001-0600","data":{"idHex":"ABCD"}}'
    (read,) = parse_zebra(raw, received_at=received).reads
    assert read.seen_at == datetime(2024, 3, 5, 8, 0, tzinfo=timezone(timedelta(hours=-6)))
    assert read.seen_at is not None and read.seen_at.tzinfo == UTC

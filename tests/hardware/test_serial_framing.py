"""Serial framers on hand-built and captured frames: checks, command bytes, decoding, resync counters, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fulfil.cli import main
from hardware.errors import UnknownProtocol
from hardware.serial import PROTOCOLS, ReaderProtocol, event_name, make_protocol
from hardware.serial import chafon, r2000, thingmagic
from hardware.serial.crc import chafon_crc, r2000_check, thingmagic_crc, thingmagic_crc_bitwise
from rfid.reads import ReaderEvent, ReaderEventKind, Rejection, TagRead

SERIAL = Path(__file__).resolve().parent.parent / "fixtures" / "serial"
EPC = bytes.fromhex("3074257BF7194E4000001A85")
EPC2 = bytes.fromhex("E2801190A5021F80055817CA")


def feed_bytewise(protocol: ReaderProtocol, data: bytes) -> list[TagRead | ReaderEvent | Rejection]:
    out = [item for byte in data for item in protocol.feed(bytes([byte]))]
    return out + protocol.flush()


def test_command_builders_match_the_known_bytes() -> None:
    assert thingmagic.get_version() == bytes.fromhex("FF00031D0C")
    assert chafon.inventory() == bytes.fromhex("04FF011BB4")
    assert chafon.get_reader_info() == bytes.fromhex("04FF211995")
    assert r2000.real_time_inventory() == bytes.fromhex("A0040189 01D1".replace(" ", ""))
    assert thingmagic.stop_reading()[:6] == bytes.fromhex("FF032F000002")


def test_checks_on_the_reference_examples() -> None:
    assert thingmagic_crc(b"\x00\x03") == 0x1D0C == thingmagic_crc_bitwise(b"\x00\x03")
    assert chafon_crc(b"\x04\xff\x01").to_bytes(2, "little") == b"\x1b\xb4"
    assert r2000_check(bytes.fromhex("A004018901")) == 0xD1
    # Same polynomial and start value as CRC-16/CCITT-FALSE (check value 0x29B1), but the message is shifted
    # through the register without augmentation, so the results differ.
    assert thingmagic_crc(b"123456789") == thingmagic_crc_bitwise(b"123456789") != 0x29B1


def test_thingmagic_tag_keepalive_and_status_frames() -> None:
    protocol = thingmagic.ThingMagicProtocol(reader="nano-1")
    data = thingmagic.encode_tag_data(EPC, antenna=2, rssi_dbm=-47, embedded=b"\x12\x34")
    frames = (thingmagic.encode_response(0x22, thingmagic.STATUS_KEEPALIVE)
              + thingmagic.encode_response(0x22, 0, data)
              + thingmagic.encode_response(0x22, thingmagic.STATUS_TEMPERATURE_THROTTLED)
              + thingmagic.encode_response(0x22, thingmagic.STATUS_HIGH_RETURN_LOSS))
    out = feed_bytewise(protocol, frames)
    assert [event_name(o) for o in out if isinstance(o, ReaderEvent)] == ["keepalive", "temperature_throttled", "high_return_loss"]
    [read] = [o for o in out if isinstance(o, TagRead)]
    assert (read.epc, read.antenna, read.rssi_dbm, read.reader, read.source) == (EPC.hex().upper(), 2, -47.0, "nano-1", "thingmagic")
    assert protocol.stats.frames_ok == 4 and protocol.stats.reads == 1


def test_thingmagic_rejects_a_non_gen2_tag_and_an_inconsistent_epc_length() -> None:
    protocol = thingmagic.ThingMagicProtocol()
    data = bytearray(thingmagic.encode_tag_data(EPC))
    data[18] = 3  # not Gen2
    [out] = protocol.feed(thingmagic.encode_response(0x22, 0, bytes(data)))
    assert isinstance(out, Rejection) and "Gen2" in out.reason
    [out] = protocol.feed(thingmagic.encode_response(0x22, 0, thingmagic.encode_tag_data(EPC)[:-1]))
    assert isinstance(out, Rejection) and out.reason.startswith("malformed") and protocol.stats.malformed == 1


def test_chafon18_inventory_rounds_and_serial_number() -> None:
    protocol = chafon.Chafon18Protocol()
    stream = (chafon.encode_response(0x4C, 0, bytes.fromhex("0A0B0C0D"))
              + chafon.encode_response(1, chafon.STATUS_MORE_FRAMES, chafon.encode_inventory_data([EPC, EPC2]))
              + chafon.encode_response(1, chafon.STATUS_ROUND_DONE, chafon.encode_inventory_data([])))
    out = feed_bytewise(protocol, stream)
    reads = [o for o in out if isinstance(o, TagRead)]
    assert [r.epc for r in reads] == [EPC.hex().upper(), EPC2.hex().upper()]
    assert {r.reader for r in reads} == {"chafon18:0A0B0C0D"} and protocol.reader_serial == "0A0B0C0D"
    assert all(r.antenna is None and r.rssi_dbm is None for r in reads)
    assert event_name(out[-1]) == "end_of_round"  # type: ignore[arg-type]
    assert protocol.take_commands() == [chafon.inventory()]  # asks for the next round


def test_chafon288_antenna_mask_and_relative_rssi_is_not_dbm() -> None:
    protocol = chafon.Chafon288Protocol(reader="cf-1")
    frame = chafon.encode_response(1, chafon.STATUS_BUFFER_FULL, chafon.encode_inventory_data([EPC], antenna=3, rssi=[201]))
    read, overflow = protocol.feed(frame)
    assert isinstance(read, TagRead) and (read.antenna, read.rssi_dbm) == (3, None)
    assert isinstance(overflow, ReaderEvent) and overflow.kind is ReaderEventKind.OVERFLOW


def test_chafon_count_mismatch_is_malformed_and_yields_no_read() -> None:
    protocol = chafon.Chafon18Protocol()
    data = bytes([3]) + bytes([len(EPC)]) + EPC  # says 3 tags, holds 1
    [out] = protocol.feed(chafon.encode_response(1, chafon.STATUS_ROUND_DONE, data))
    assert isinstance(out, Rejection) and protocol.stats.malformed == 1 and protocol.stats.reads == 0


def test_r2000_records_end_of_round_error_and_identifier() -> None:
    protocol = r2000.R2000Protocol(reader="yr-1")
    stream = (r2000.encode_frame(0x68, bytes(range(12)))
              + r2000.encode_frame(0x89, r2000.encode_tag_record(EPC, antenna=4, rssi_dbm=-58))
              + r2000.encode_frame(0x89, r2000.encode_end_of_round(antenna=4, read_rate=30, total_reads=7))
              + r2000.encode_frame(0x89, b"\x36"))
    ident, read, end, error = feed_bytewise(protocol, stream)
    assert isinstance(read, TagRead) and (read.epc, read.antenna, read.rssi_dbm) == (EPC.hex().upper(), 4, -58.0)
    assert protocol.reader_serial == bytes(range(12)).hex().upper()
    assert isinstance(end, ReaderEvent) and end.detail == "end_of_round rate=30 total=7" and end.antenna == 4
    assert isinstance(error, ReaderEvent) and "code=0x36" in (error.detail or "")
    assert protocol.take_commands() == [r2000.real_time_inventory()] * 2


@pytest.mark.parametrize("name", ["thingmagic", "chafon18", "r2000"])
def test_noise_bad_check_and_truncation_are_counted_and_skipped(name: str) -> None:
    good = {
        "thingmagic": thingmagic.encode_response(0x22, 0, thingmagic.encode_tag_data(EPC)),
        "chafon18": chafon.encode_response(1, 3, chafon.encode_inventory_data([EPC])),
        "r2000": r2000.encode_frame(0x89, r2000.encode_tag_record(EPC)),
    }[name]
    bad = good[:-1] + bytes([good[-1] ^ 0x01])
    stream = b"\x00\x01\x02" + good + good + bad + good + good[:9] + good + good[:5]
    protocol = make_protocol(name)
    out = feed_bytewise(protocol, stream)
    assert [o.reason for o in out if isinstance(o, Rejection)] == ["noise", "bad_crc", "truncated", "truncated"]
    assert len([o for o in out if isinstance(o, TagRead)]) == 4
    stats = protocol.stats
    assert (stats.frames_ok, stats.crc_errors, stats.truncated, stats.noise_bytes) == (4, 1, 2, 3)


def test_r2000_record_followed_by_noise_is_dropped_not_risked() -> None:
    record = r2000.encode_frame(0x89, r2000.encode_tag_record(EPC))
    protocol = r2000.R2000Protocol()
    out = feed_bytewise(protocol, record + b"\x00\x01" + record + record)
    assert [o.epc for o in out if isinstance(o, TagRead)] == [EPC.hex().upper()] * 2
    assert [o.reason for o in out if isinstance(o, Rejection)] == ["truncated"]


def test_text_lines_reuse_the_text_parser() -> None:
    protocol = make_protocol("text", reader="handheld")
    out = feed_bytewise(protocol, b"3074257BF7194E4000001A85 2 -51.5\r\nnot-an-epc\r\n" + b"A" * 300 + b"\nE2801190A5021F80055817CA")
    assert [(o.epc, o.antenna, o.rssi_dbm) for o in out if isinstance(o, TagRead)] == [
        ("3074257BF7194E4000001A85", 2, -51.5), ("E2801190A5021F80055817CA", None, None)]
    assert [(o.reason, o.index) for o in out if isinstance(o, Rejection)] == [
        ("not a hex EPC: 'not-an-epc'", 2), ("overlong line", 3)]


def test_unknown_protocol_is_a_hardware_error() -> None:
    assert set(PROTOCOLS) == {"thingmagic", "chafon18", "chafon288", "r2000", "text"}
    with pytest.raises(UnknownProtocol):
        make_protocol("llrp")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, object]]]:
    status = main(["rfid", "frames", *argv])
    return status, [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_cli_decodes_a_binary_capture(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "--protocol", "thingmagic", "--reader", "nano", str(SERIAL / "thingmagic-capture.bin"))
    assert status == 1  # noise, a bad CRC and a truncated tail were discarded
    assert [o.get("event") or o.get("error") or o["epc"] for o in out] == [
        "reader_info", "keepalive", "3074257BF7194E4000001A85", "noise", "E2801190A5021F80055817CA",
        "bad_crc", "temperature_throttled", "truncated"]
    assert out[2] == {"epc": "3074257BF7194E4000001A85", "reader": "nano", "antenna": 1, "rssi_dbm": -55.0,
                      "seen_at": None, "count": 1, "seq": None, "frequency_khz": 915250, "phase_deg": 87.0,
                      "frequency_index": None}
    assert (out[4]["frequency_khz"], out[4]["phase_deg"], out[4]["antenna"]) == (902750, 153.0, 2)


def test_cli_decodes_hex_and_names_the_reader_by_its_serial(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "--protocol", "chafon18", "--hex", str(SERIAL / "chafon18-capture.hex"))
    assert status == 0
    assert [o.get("event") or o["epc"] for o in out] == [
        "reader_serial", "3074257BF7194E4000001A85", "E2801190A5021F80055817CA", "end_of_round"]
    assert {o["reader"] for o in out} == {"chafon18:1A2B3C4D"}
    status, out = run(capsys, "--protocol", "r2000", "--hex", str(SERIAL / "r2000-capture.hex"))
    assert status == 0 and out[1]["antenna"] == 2 and out[1]["rssi_dbm"] == -58.0
    # FreqAnt 0x1D: antenna bits 01, channel 7; no kHz without the module's channel plan.
    assert (out[1]["frequency_index"], out[1]["frequency_khz"], out[1]["phase_deg"]) == (7, None, None)
    assert out[2] == {"event": "end_of_round", "reader": "r2000:00000000000000001A2B3C4D", "antenna": 2,
                      "detail": "rate=12 total=1", "at": None}


def test_cli_rejects_bad_hex_with_usage_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.hex"
    bad.write_text("FF 0G")
    assert main(["rfid", "frames", "--protocol", "thingmagic", "--hex", str(bad)]) == 2
    assert "not hex" in capsys.readouterr().err

"""Radio metadata of serial tag reports: ThingMagic fields found by their metadata flags, R2000 channel index.

The ThingMagic frames here are built by hand (only the frame around the DATA comes from encode_response), so
the decoder is checked against the layout, not against its own encoder; one is a module's response as
published with SparkFun's library (its CRC matches, so the bytes are exact).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.serial import r2000, thingmagic
from hardware.serial.thingmagic import (
    META_ANTENNA,
    META_BRAND_ID,
    META_DATA,
    META_FREQUENCY,
    META_GEN2_LF,
    META_GEN2_Q,
    META_GEN2_TARGET,
    META_GPIO,
    META_PHASE,
    META_PROTOCOL,
    META_READ_COUNT,
    META_RSSI,
    META_TIMESTAMP,
    METADATA_FIELDS,
    ThingMagicProtocol,
)
from rfid.reads import Rejection, TagRead

EPC = bytes.fromhex("3074257BF7194E4000001A85")
EPC_FIELD = "0080" + "3000" + EPC.hex() + "0000"  # EPC length 128 bits (PC + EPC + tag CRC), PC, EPC, tag CRC


def decode(data_hex: str) -> TagRead | Rejection:
    protocol = ThingMagicProtocol(reader="nano")
    out = protocol.feed(thingmagic.encode_response(thingmagic.OP_READ_TAG_ID_MULTIPLE, 0, bytes.fromhex(data_hex.replace(" ", ""))))
    assert len(out) == 1 and isinstance(out[0], TagRead | Rejection)
    return out[0]


def test_a_published_module_response_decodes_with_frequency_and_phase() -> None:
    frame = bytes.fromhex(
        "FF 28 22 00 00"  # header, LEN 40, opcode 0x22, status OK
        " 10 001B 01FF 01"  # option, search flags, metadata flags 0x01FF, tag count
        " 01 C4 11 0E1640 00000127 0000 05 0000 0F"  # read count, RSSI -60, antenna 1/1, 923,200 kHz, ms, phase, Gen2, no data, GPIO
        " 0080 3000 000000000000000000001545 E94A"  # EPC length, PC, EPC, tag CRC
        " 561D"  # frame CRC
    )
    [read] = ThingMagicProtocol(reader="nano").feed(frame)
    assert isinstance(read, TagRead)
    assert (read.epc, read.antenna, read.rssi_dbm, read.count) == ("000000000000000000001545", 1, -60.0, 1)
    assert (read.frequency_khz, read.phase_deg, read.frequency_index) == (923_200, 0.0, None)


def test_frequency_first_when_rssi_and_antenna_are_not_asked_for() -> None:
    # flags 0x0068 = frequency | phase | protocol: the frequency follows the tag count directly
    read = decode("10 001B 0068 01  0DF732  0057  05 " + EPC_FIELD)
    assert isinstance(read, TagRead)
    assert (read.frequency_khz, read.phase_deg, read.rssi_dbm, read.antenna, read.count) == (915_250, 87.0, None, None, 1)


def test_every_field_before_and_after_frequency_is_stepped_over_by_its_flag() -> None:
    flags = sum(flag for flag, _ in METADATA_FIELDS)  # 0x1FFF: the Gen2 Q, link frequency, target and brand id too
    read = decode(
        f"10 001B {flags:04X} 01"
        " 03 B5 22 0E2A38 000003E8 00B4 05"  # read count 3, RSSI -75, antenna TX 2 / RX 2, 928,312 kHz, 1000 ms, phase 180, Gen2
        " 0018 ABCDEF"  # 24 bits of embedded data
        " 0F 04 02 01 1234 "  # GPIO, Gen2 Q, link frequency, target, brand id
        + EPC_FIELD
    )
    assert isinstance(read, TagRead)
    assert (read.epc, read.count, read.rssi_dbm, read.antenna) == (EPC.hex().upper(), 3, -75.0, 2)
    assert (read.frequency_khz, read.phase_deg) == (928_312, 180.0)


def test_embedded_data_of_an_odd_bit_count_takes_whole_bytes() -> None:
    # 0x00CE = RSSI | antenna | frequency | protocol | data; 9 bits of data are 2 bytes
    read = decode("10 001B 00CE 01  D3 11 0DC9A6 05 0009 FF80 " + EPC_FIELD)
    assert isinstance(read, TagRead) and (read.rssi_dbm, read.frequency_khz, read.phase_deg) == (-45.0, 903_590, None)


def test_protocol_is_found_by_the_flags_and_a_non_gen2_tag_is_rejected() -> None:
    out = decode("10 001B 0048 01  0DF732 03 " + EPC_FIELD)  # frequency | protocol 3 (ISO 18000-6B)
    assert isinstance(out, Rejection) and out.reason == "not a Gen2 tag (protocol 3)"


def test_unknown_flags_short_metadata_and_a_zero_read_count_are_malformed() -> None:
    out = decode("10 001B 2008 01 0DF732 " + EPC_FIELD)  # 0x2000: a field whose size this decoder does not know
    assert isinstance(out, Rejection) and out.reason == "malformed: unknown read-metadata flags 0x2000"
    out = decode("10 001B 01FF 01 01 C4 11")  # the flags promise more than the frame holds
    assert isinstance(out, Rejection) and out.reason == "malformed: read metadata overruns the frame"
    out = decode("10 001B 0080 01 FFFF 00")  # embedded data longer than the frame
    assert isinstance(out, Rejection) and out.reason == "malformed: read metadata overruns the frame"
    out = decode("10 001B 0009 01 00 0DF732 " + EPC_FIELD)
    assert isinstance(out, Rejection) and out.reason == "malformed: read count 0"
    out = decode("10 001B 00")
    assert isinstance(out, Rejection) and out.reason == "malformed: tag response too short"


OPTIONAL = [META_READ_COUNT, META_RSSI, META_ANTENNA, META_FREQUENCY, META_TIMESTAMP, META_PHASE, META_PROTOCOL,
            META_DATA, META_GPIO, META_GEN2_Q, META_GEN2_LF, META_GEN2_TARGET, META_BRAND_ID]


@settings(max_examples=300, deadline=None)
@given(flags=st.lists(st.sampled_from(OPTIONAL), unique=True), frequency=st.integers(0, 2**24 - 1),
       phase=st.integers(0, 2**16 - 1), rssi=st.integers(-128, 127), antenna=st.integers(1, 15), count=st.integers(1, 255),
       embedded=st.binary(max_size=8))
def test_any_set_of_flags_decodes_what_the_encoder_put_in(flags: list[int], frequency: int, phase: int, rssi: int,
                                                          antenna: int, count: int, embedded: bytes) -> None:
    metadata = sum(flags)
    data = thingmagic.encode_tag_data(EPC, antenna=antenna, rssi_dbm=rssi, frequency_khz=frequency, phase_deg=phase,
                                      read_count=count, embedded=embedded, metadata=metadata)
    [read] = ThingMagicProtocol().feed(thingmagic.encode_response(thingmagic.OP_READ_TAG_ID_MULTIPLE, 0, data))
    assert isinstance(read, TagRead) and read.epc == EPC.hex().upper()
    assert read.frequency_khz == (frequency if metadata & META_FREQUENCY else None)
    assert read.phase_deg == (float(phase) if metadata & META_PHASE else None)
    assert read.rssi_dbm == (float(rssi) if metadata & META_RSSI else None)
    assert read.antenna == (antenna if metadata & META_ANTENNA else None)
    assert read.count == (count if metadata & META_READ_COUNT else 1)


def test_r2000_carries_the_channel_index_not_a_guessed_frequency() -> None:
    protocol = r2000.R2000Protocol(reader="yr-1")
    # FreqAnt 0x8F = channel 35 (bits 2-7), antenna 4 (bits 0-1 = 3), built by hand: A0 LEN ADDR CMD FreqAnt PC EPC RSSI CHECK
    body = bytes.fromhex("A0 13 01 89 8F 3000") + EPC + bytes([-52 + r2000.RSSI_OFFSET])
    stream = body + bytes([(-sum(body)) & 0xFF]) + r2000.encode_frame(0x89, r2000.encode_end_of_round())
    read = protocol.feed(stream)[0]
    assert isinstance(read, TagRead)
    assert (read.antenna, read.rssi_dbm, read.frequency_index, read.frequency_khz, read.phase_deg) == (4, -52.0, 35, None, None)
    record = r2000.encode_frame(0x89, r2000.encode_tag_record(EPC, frequency_index=0))
    read = protocol.feed(record + r2000.encode_frame(0x89, r2000.encode_end_of_round()))[0]
    assert isinstance(read, TagRead) and read.frequency_index == 0  # channel 0 is a channel, not "unknown"

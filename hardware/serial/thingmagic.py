"""ThingMagic Mercury serial protocol (M6e, Micro, Nano, SparkFun boards): frames, continuous-read tags, commands."""

from __future__ import annotations

from typing import ClassVar

from hardware.serial.crc import thingmagic_crc
from hardware.serial.framing import KEEPALIVE, READER_INFO, BinaryFramer, Decoded
from rfid.reads import ReaderEventKind, Rejection

HEADER = 0xFF
OP_GET_VERSION = 0x03
OP_READ_TAG_ID_MULTIPLE = 0x22  # continuous-read tag responses carry this opcode
OP_MULTI_PROTOCOL_TAG_OP = 0x2F  # starts and stops continuous reading

STATUS_OK = 0x0000
STATUS_KEEPALIVE = 0x0400
STATUS_TEMPERATURE_THROTTLED = 0x0504
STATUS_HIGH_RETURN_LOSS = 0x0505
PROTOCOL_GEN2 = 5

# Read-metadata flags (the Mercury API's TMR_TRD_METADATA_FLAG_* values). A tag response starts with the option
# byte, two bytes of search flags, these flags (2 bytes) and a tag count (1); then each field whose flag is set,
# in the order below, with its size in bytes; then the EPC. So the flags, not fixed offsets, say where RSSI,
# frequency or phase are.
META_READ_COUNT = 0x0001
META_RSSI = 0x0002  # signed, dBm
META_ANTENNA = 0x0004  # high nibble TX port, low nibble RX port
META_FREQUENCY = 0x0008  # kHz
META_TIMESTAMP = 0x0010  # ms since the last keep-alive
META_PHASE = 0x0020  # degrees
META_PROTOCOL = 0x0040
META_DATA = 0x0080  # embedded-data length in bits (2 bytes), then that data
META_GPIO = 0x0100
META_GEN2_Q = 0x0200
META_GEN2_LF = 0x0400
META_GEN2_TARGET = 0x0800
META_BRAND_ID = 0x1000
METADATA_FIELDS: tuple[tuple[int, int], ...] = (
    (META_READ_COUNT, 1), (META_RSSI, 1), (META_ANTENNA, 1), (META_FREQUENCY, 3), (META_TIMESTAMP, 4),
    (META_PHASE, 2), (META_PROTOCOL, 1), (META_DATA, 2), (META_GPIO, 1), (META_GEN2_Q, 1), (META_GEN2_LF, 1),
    (META_GEN2_TARGET, 1), (META_BRAND_ID, 2),
)
KNOWN_METADATA = sum(flag for flag, _ in METADATA_FIELDS)
# What start_reading() asks for (read count .. GPIO status): with it, the 7 bytes before RSSI are option, search
# flags, metadata flags, tag count and read count, and the "reserved" byte after the embedded data is GPIO status.
READ_METADATA = 0x01FF
TAG_HEADER = 6  # option, search flags (2), metadata flags (2), tag count
_RESPONSE_OPTIONS = bytes.fromhex("10001B")  # option and search flags as the module echoes them

# Opcodes a module answers with; a 0xFF followed by anything else is not a frame start.
KNOWN_OPCODES = frozenset(
    {0x03, 0x04, 0x06, 0x09, 0x0C, 0x10, 0x21, 0x22, 0x28, 0x29, 0x2A, 0x2F,
     0x61, 0x62, 0x63, 0x67, 0x6A, 0x6B, 0x91, 0x92, 0x93, 0x95, 0x97, 0x9A, 0x9B}
)

# The continuous Gen2 read the Universal Reader Assistant sends (option 1 = continuous,
# sub-opcode 0x22, Gen2, no timeout), as published in SparkFun's M6e Nano documentation.
_START_READING = bytes.fromhex("0000012200000507221000 1B03E801FF".replace(" ", ""))
_STOP_READING = bytes.fromhex("000002")  # timeout 0, option 2 = stop continuous reading


def encode_command(opcode: int, data: bytes = b"") -> bytes:
    """A host->module frame: FF LEN OPCODE DATA CRC (CRC big-endian over LEN..DATA)."""
    body = bytes([len(data), opcode]) + data
    return bytes([HEADER]) + body + thingmagic_crc(body).to_bytes(2, "big")


def encode_response(opcode: int, status: int, data: bytes = b"") -> bytes:
    """A module->host frame: FF LEN OPCODE STATUS(2) DATA CRC."""
    body = bytes([len(data), opcode]) + status.to_bytes(2, "big") + data
    return bytes([HEADER]) + body + thingmagic_crc(body).to_bytes(2, "big")


def get_version() -> bytes:
    """Get Version (FF 00 03 1D 0C)."""
    return encode_command(OP_GET_VERSION)


def start_reading() -> bytes:
    """Start continuous Gen2 reading: tags then stream as opcode 0x22 responses, with keep-alives."""
    return encode_command(OP_MULTI_PROTOCOL_TAG_OP, _START_READING)


def stop_reading() -> bytes:
    """Stop continuous reading."""
    return encode_command(OP_MULTI_PROTOCOL_TAG_OP, _STOP_READING)


def encode_tag_data(epc: bytes, *, antenna: int = 1, rssi_dbm: int = -60, frequency_khz: int = 915250,
                    timestamp_ms: int = 0, phase_deg: int = 0, embedded: bytes = b"", read_count: int = 1,
                    protocol: int = PROTOCOL_GEN2, metadata: int = READ_METADATA) -> bytes:
    """The DATA of a continuous-read tag response carrying the fields `metadata` flags, for emulators and tests."""
    pc = (len(epc) // 2) << 11
    values = {
        META_READ_COUNT: bytes([read_count]),
        META_RSSI: (rssi_dbm & 0xFF).to_bytes(1, "big"),
        META_ANTENNA: bytes([(antenna << 4) | antenna]),  # monostatic: TX port = RX port
        META_FREQUENCY: frequency_khz.to_bytes(3, "big"),
        META_TIMESTAMP: timestamp_ms.to_bytes(4, "big"),
        META_PHASE: phase_deg.to_bytes(2, "big"),
        META_PROTOCOL: bytes([protocol]),
        META_DATA: (len(embedded) * 8).to_bytes(2, "big") + embedded,
    }
    fields = [values.get(flag, bytes(size)) for flag, size in METADATA_FIELDS if metadata & flag]
    return b"".join([
        _RESPONSE_OPTIONS,
        metadata.to_bytes(2, "big"),
        b"\x01",  # tag count: one tag per streamed response
        *fields,
        ((len(epc) + 4) * 8).to_bytes(2, "big"),
        pc.to_bytes(2, "big"),
        epc,
        b"\x00\x00",  # the tag's own CRC; the module has checked it already
    ])


def encode_version_data(*, hardware: bytes = bytes.fromhex("18000000"), firmware: bytes = bytes.fromhex("01090001"),
                        firmware_date: bytes = bytes.fromhex("20240115")) -> bytes:
    """The DATA of a Get Version response: bootloader, hardware, firmware date, firmware version, protocols."""
    return bytes.fromhex("12030000") + hardware + firmware_date + firmware + bytes.fromhex("00000010")


class ThingMagicProtocol(BinaryFramer):
    """Module->host Mercury frames: continuous-read tags, keep-alives, status frames, Get Version."""

    name: ClassVar[str] = "thingmagic"
    header: ClassVar[int | None] = HEADER

    def frame_length(self, buffer: bytearray, start: int) -> int | None:
        """FF LEN OPCODE STATUS(2) DATA(LEN) CRC(2) = LEN + 7 bytes, for a known opcode."""
        if buffer[start] != HEADER:
            return 0
        if len(buffer) < start + 3:
            return None
        return buffer[start + 1] + 7 if buffer[start + 2] in KNOWN_OPCODES else 0

    def check(self, frame: bytes) -> bool:
        """ThingMagic CRC over LEN..DATA, big-endian."""
        return thingmagic_crc(frame[1:-2]) == int.from_bytes(frame[-2:], "big")

    def startup_commands(self) -> list[bytes]:
        """Get Version (identifies the module), then start continuous reading."""
        return [get_version(), start_reading()]

    def stop_commands(self) -> list[bytes]:
        """Stop continuous reading."""
        return [stop_reading()]

    def restart_commands(self) -> list[bytes]:
        """After a silence (no keep-alive), start continuous reading again."""
        return [start_reading()]

    def decode(self, frame: bytes) -> list[Decoded]:
        """One checked frame -> a read, a keep-alive, a status event or the module's version."""
        opcode, status, data = frame[2], int.from_bytes(frame[3:5], "big"), frame[5:-2]
        if status == STATUS_KEEPALIVE and not data:
            return [self._status(KEEPALIVE, frame)]
        if status == STATUS_TEMPERATURE_THROTTLED:
            return [self._status("temperature_throttled", frame)]
        if status == STATUS_HIGH_RETURN_LOSS:
            return [self._status("high_return_loss", frame)]
        if status != STATUS_OK:
            return [self._event(ReaderEventKind.OTHER, f"error opcode=0x{opcode:02X} status=0x{status:04X}", frame)]
        if opcode == OP_READ_TAG_ID_MULTIPLE and data:
            return [self._decode_tag(data, frame)]
        if opcode == OP_GET_VERSION and len(data) >= 16:
            hardware, date, firmware = data[4:8].hex().upper(), data[8:12].hex(), data[12:16]
            version = ".".join(f"{b:02X}" for b in firmware)
            return [self._event(ReaderEventKind.OTHER, f"{READER_INFO} hardware={hardware} firmware={version} date={date}", frame)]
        return [self._event(ReaderEventKind.OTHER, f"response opcode=0x{opcode:02X}", frame)]

    def _decode_tag(self, data: bytes, frame: bytes) -> Decoded:
        if len(data) < TAG_HEADER:
            return self._malformed("tag response too short", frame)
        flags = int.from_bytes(data[3:5], "big")
        if flags & ~KNOWN_METADATA:
            return self._malformed(f"unknown read-metadata flags 0x{flags & ~KNOWN_METADATA:04X}", frame)
        meta: dict[int, int] = {}
        at = TAG_HEADER
        for flag, size in METADATA_FIELDS:
            if flags & flag:
                if len(data) < at + size:
                    return self._malformed("read metadata overruns the frame", frame)
                meta[flag] = int.from_bytes(data[at : at + size], "big")
                at += size
                if flag == META_DATA:
                    at += (meta[flag] + 7) // 8  # skip the embedded data itself
        if len(data) < at + 2:
            return self._malformed("read metadata overruns the frame", frame)
        epc_bits = int.from_bytes(data[at : at + 2], "big")
        if epc_bits % 8 or epc_bits < 32:
            return self._malformed(f"EPC length {epc_bits} bits", frame)
        if len(data) != at + 2 + epc_bits // 8:
            return self._malformed("EPC length does not match the frame", frame)
        epc = data[at + 4 : at + 2 + epc_bits // 8 - 2]  # without PC and tag CRC
        # The protocol is always reported by the modules; without it, the read is the Gen2 one start_reading asked for.
        protocol = meta.get(META_PROTOCOL, PROTOCOL_GEN2)
        if protocol != PROTOCOL_GEN2:
            return Rejection(f"not a Gen2 tag (protocol {protocol})", frame, None, self.name)
        if not epc or len(epc) > 62:
            return self._malformed(f"EPC of {len(epc)} bytes", frame)
        count = meta.get(META_READ_COUNT, 1)
        if count == 0:
            return self._malformed("read count 0", frame)
        rssi = meta.get(META_RSSI)
        rx_port = meta.get(META_ANTENNA, 0) & 0x0F  # the port that heard the tag (low nibble); equals TX when monostatic
        phase = meta.get(META_PHASE)
        # The module's timestamp counts milliseconds since its last keep-alive, not wall time: seen_at
        # stays None (the reader gave no clock) and received_at orders the reads.
        return self._read(epc, frame, rx_port or None, None if rssi is None else float(rssi - 256 if rssi > 127 else rssi),
                          count=count, frequency_khz=meta.get(META_FREQUENCY),
                          phase_deg=None if phase is None else float(phase))

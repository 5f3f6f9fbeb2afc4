"""The "R2000" 0xA0 serial protocol (YR9010 family, many OEM Impinj R2000 boards): frames, real-time inventory, commands."""

from __future__ import annotations

from typing import ClassVar

from hardware.serial.crc import r2000_check
from hardware.serial.framing import END_OF_ROUND, READER_INFO, READER_SERIAL, BinaryFramer, Decoded
from rfid.reads import ReaderEventKind

HEADER = 0xA0
DEFAULT_ADDRESS = 0x01
CMD_GET_FIRMWARE_VERSION = 0x72
CMD_GET_READER_IDENTIFIER = 0x68
CMD_REAL_TIME_INVENTORY = 0x89
INVENTORY_COMMANDS = frozenset({0x89, 0x8A, 0x8B})
LEN_ERROR = 0x04  # ADDR CMD ErrorCode CHECK
LEN_END_OF_ROUND = 0x0A  # ADDR CMD Antenna ReadRate(2) TotalRead(4) CHECK
RSSI_OFFSET = 129  # dBm = RSSI byte - 129
IDENTIFIER_BYTES = 12

# Commands a module answers; with the length they make a plausible frame start (the check is only 8 bits).
KNOWN_COMMANDS = frozenset(
    {0x68, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x79, 0x7A, 0x7B, 0x80, 0x81, 0x89, 0x8A, 0x8B, 0x90, 0x91}
)


def encode_frame(cmd: int, data: bytes = b"", *, address: int = DEFAULT_ADDRESS) -> bytes:
    """A frame in either direction: A0 LEN ADDR CMD DATA CHECK."""
    body = bytes([HEADER, len(data) + 3, address, cmd]) + data
    return body + bytes([r2000_check(body)])


def real_time_inventory(repeat: int = 1, *, address: int = DEFAULT_ADDRESS) -> bytes:
    """One real-time inventory round on the work antenna (A0 04 01 89 01 D1)."""
    return encode_frame(CMD_REAL_TIME_INVENTORY, bytes([repeat]), address=address)


def get_reader_identifier(address: int = DEFAULT_ADDRESS) -> bytes:
    """Ask for the module's 12-byte identifier (its serial number)."""
    return encode_frame(CMD_GET_READER_IDENTIFIER, address=address)


def get_firmware_version(address: int = DEFAULT_ADDRESS) -> bytes:
    """Ask for the firmware version (major, minor)."""
    return encode_frame(CMD_GET_FIRMWARE_VERSION, address=address)


def encode_tag_record(epc: bytes, *, antenna: int = 1, rssi_dbm: int = -60, frequency_index: int = 7) -> bytes:
    """The DATA of a real-time inventory tag record: FreqAnt, PC, EPC, RSSI (for emulators and tests)."""
    pc = (len(epc) // 2) << 11
    return bytes([(frequency_index << 2) | (antenna - 1)]) + pc.to_bytes(2, "big") + epc + bytes([rssi_dbm + RSSI_OFFSET])


def encode_end_of_round(*, antenna: int = 1, read_rate: int = 0, total_reads: int = 0) -> bytes:
    """The DATA of an end-of-round response: antenna (0-based), read rate (2), total reads (4)."""
    return bytes([antenna - 1]) + read_rate.to_bytes(2, "big") + total_reads.to_bytes(4, "big")


class R2000Protocol(BinaryFramer):
    """Module->host 0xA0 frames: tag records, end of round, errors, identifier and firmware version."""

    name: ClassVar[str] = "r2000"
    reports_serial: ClassVar[bool] = True
    header: ClassVar[int | None] = HEADER

    def frame_length(self, buffer: bytearray, start: int) -> int | None:
        """LEN + 2 bytes, for a known command and a length that at least holds ADDR, CMD and CHECK."""
        if buffer[start] != HEADER:
            return 0
        if len(buffer) < start + 4:
            return None
        length, cmd = buffer[start + 1], buffer[start + 3]
        return length + 2 if length >= 3 and cmd in KNOWN_COMMANDS else 0

    def check(self, frame: bytes) -> bool:
        """The whole frame sums to 0 mod 256."""
        return sum(frame) & 0xFF == 0

    def needs_confirmation(self, frame: bytes) -> bool:
        """Tag records: an 8-bit LRC passes one random span in 256, so a record must be followed by a frame start.

        Records are always followed by another record or the end-of-round frame, so this costs no latency.
        """
        return frame[3] in INVENTORY_COMMANDS and frame[1] not in (LEN_ERROR, LEN_END_OF_ROUND)

    def startup_commands(self) -> list[bytes]:
        """Firmware version, identifier (identifies the module), then the first inventory round."""
        return [get_firmware_version(), get_reader_identifier(), real_time_inventory()]

    def restart_commands(self) -> list[bytes]:
        """After a silence (a lost answer), ask for an inventory round again."""
        return [real_time_inventory()]

    def decode(self, frame: bytes) -> list[Decoded]:
        """One checked frame -> a read, an end of round, an error, or the module's identity."""
        cmd, data = frame[3], frame[4:-1]
        if cmd in INVENTORY_COMMANDS:
            return self._decode_inventory(frame, data)
        if frame[1] == LEN_ERROR:
            return [self._event(ReaderEventKind.OTHER, f"error cmd=0x{cmd:02X} code=0x{data[0]:02X}", frame)]
        if cmd == CMD_GET_READER_IDENTIFIER and len(data) == IDENTIFIER_BYTES:
            self.reader_serial = data.hex().upper()
            return [self._event(ReaderEventKind.OTHER, f"{READER_SERIAL} {self.reader_serial}", frame)]
        if cmd == CMD_GET_FIRMWARE_VERSION and len(data) == 2:
            return [self._event(ReaderEventKind.OTHER, f"{READER_INFO} firmware={data[0]}.{data[1]}", frame)]
        return [self._event(ReaderEventKind.OTHER, f"response cmd=0x{cmd:02X}", frame)]

    def _decode_inventory(self, frame: bytes, data: bytes) -> list[Decoded]:
        length = frame[1]
        if length == LEN_ERROR:
            self._pending.append(real_time_inventory())  # e.g. no tag or antenna missing: keep polling
            return [self._event(ReaderEventKind.OTHER, f"error cmd=0x{frame[3]:02X} code=0x{data[0]:02X}", frame)]
        if length == LEN_END_OF_ROUND:
            self._pending.append(real_time_inventory())  # one round per command: ask for the next
            rate, total = int.from_bytes(data[1:3], "big"), int.from_bytes(data[3:7], "big")
            return [self._status(f"{END_OF_ROUND} rate={rate} total={total}", frame, (data[0] & 0x03) + 1)]
        if len(data) < 4:
            return [self._malformed("tag record too short", frame)]
        epc_bytes = (int.from_bytes(data[1:3], "big") >> 11) * 2  # PC bits 15-11: EPC length in words
        if epc_bytes == 0:
            return [self._malformed("empty EPC", frame)]
        # Some firmware appends phase bytes after RSSI when asked to: only a shortfall is an error.
        if len(data) < 3 + epc_bytes + 1:
            return [self._malformed("EPC length from PC overruns the frame", frame)]
        epc, rssi = data[3 : 3 + epc_bytes], data[3 + epc_bytes] - RSSI_OFFSET
        # FreqAnt bits 2-7 number the channel in the region's plan set in the module, which no frame reports:
        # carried as an index, not turned into kHz.
        return [self._read(epc, frame, (data[0] & 0x03) + 1, float(rssi), frequency_index=data[0] >> 2)]

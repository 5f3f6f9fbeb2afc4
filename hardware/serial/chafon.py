"""Chafon UHFReader18 / UHFReader288 serial protocol (CF-RU..., CF-MU...): frames, inventory responses, commands.

The UHFReader288 reports a relative signal strength (0-255) with each tag, not dBm:
it is not converted, reads from this dialect carry `rssi_dbm=None`.
"""

from __future__ import annotations

from typing import ClassVar

from hardware.serial.crc import chafon_crc
from hardware.serial.framing import END_OF_ROUND, READER_INFO, READER_SERIAL, BinaryFramer, Decoded
from rfid.reads import ReaderEventKind, TagRead

BROADCAST = 0xFF
CMD_INVENTORY = 0x01
CMD_READER_INFO = 0x21
CMD_SERIAL_NUMBER = 0x4C

STATUS_OK = 0x00
STATUS_ROUND_DONE = 0x01  # inventory ended normally (possibly with zero tags)
STATUS_ROUND_TIMEOUT = 0x02
STATUS_MORE_FRAMES = 0x03
STATUS_BUFFER_FULL = 0x04
STATUS_NO_TAG = 0xFB  # some UHFReader18 firmware answers an empty inventory with this instead of 0x01

# Commands whose responses we know; with the status byte they make a plausible frame start
# (the format has no header byte, so a random byte >= 5 must not pass for a length).
KNOWN_COMMANDS = frozenset({0x01, 0x0F, 0x21, 0x22, 0x24, 0x25, 0x2F, 0x4C})
KNOWN_STATUSES = frozenset({0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF})
MIN_RESPONSE_LEN = 5  # ADR CMD STATUS CRC(2)


def encode_command(cmd: int, data: bytes = b"", *, address: int = BROADCAST) -> bytes:
    """A host->reader frame: LEN ADR CMD DATA CRC-LSB CRC-MSB."""
    body = bytes([len(data) + 4, address, cmd]) + data
    return body + chafon_crc(body).to_bytes(2, "little")


def encode_response(cmd: int, status: int, data: bytes = b"", *, address: int = 0x00) -> bytes:
    """A reader->host frame: LEN ADR CMD STATUS DATA CRC-LSB CRC-MSB."""
    body = bytes([len(data) + 5, address, cmd, status]) + data
    return body + chafon_crc(body).to_bytes(2, "little")


def inventory(address: int = BROADCAST) -> bytes:
    """Inventory with the reader's saved parameters (04 FF 01 1B B4 at the broadcast address)."""
    return encode_command(CMD_INVENTORY, address=address)


def get_reader_info(address: int = BROADCAST) -> bytes:
    """Get reader information: firmware version, model, frequency band, power (04 FF 21 19 95)."""
    return encode_command(CMD_READER_INFO, address=address)


def get_serial_number(address: int = BROADCAST) -> bytes:
    """Get the reader's 4-byte unique serial number."""
    return encode_command(CMD_SERIAL_NUMBER, address=address)


def encode_inventory_data(epcs: list[bytes], *, antenna: int | None = None, rssi: list[int] | None = None) -> bytes:
    """An inventory response's DATA: UHFReader18 when antenna is None, else UHFReader288 (antenna mask, RSSI bytes)."""
    if antenna is None:
        return bytes([len(epcs)]) + b"".join(bytes([len(e)]) + e for e in epcs)
    strengths = rssi if rssi is not None else [200] * len(epcs)
    body = b"".join(bytes([len(e)]) + e + bytes([s]) for e, s in zip(epcs, strengths, strict=True))
    return bytes([1 << (antenna - 1), len(epcs)]) + body


class _ChafonProtocol(BinaryFramer):
    """Frames common to both dialects; subclasses parse the inventory DATA."""
    reports_serial: ClassVar[bool] = True

    with_rssi: ClassVar[bool]

    def frame_length(self, buffer: bytearray, start: int) -> int | None:
        """LEN + 1 bytes, when LEN, CMD and STATUS are plausible for a response."""
        if len(buffer) < start + 4:
            return None
        length, cmd, status = buffer[start], buffer[start + 2], buffer[start + 3]
        if length < MIN_RESPONSE_LEN or cmd not in KNOWN_COMMANDS or status not in KNOWN_STATUSES:
            return 0
        return length + 1

    def check(self, frame: bytes) -> bool:
        """CRC-16/0x8408 over LEN..DATA, least significant byte first."""
        return chafon_crc(frame[:-2]) == int.from_bytes(frame[-2:], "little")

    def startup_commands(self) -> list[bytes]:
        """Reader info, serial number (identifies the reader), then the first inventory round."""
        return [get_reader_info(), get_serial_number(), inventory()]

    def restart_commands(self) -> list[bytes]:
        """After a silence (a lost answer), ask for an inventory round again."""
        return [inventory()]

    def decode(self, frame: bytes) -> list[Decoded]:
        """One checked frame -> reads and round events, reader info or serial number."""
        cmd, status, data = frame[2], frame[3], frame[4:-2]
        if cmd == CMD_INVENTORY:
            return self._decode_inventory(status, data, frame)
        if cmd == CMD_SERIAL_NUMBER and status == STATUS_OK and len(data) == 4:
            self.reader_serial = data.hex().upper()
            return [self._event(ReaderEventKind.OTHER, f"{READER_SERIAL} {self.reader_serial}", frame)]
        if cmd == CMD_READER_INFO and status == STATUS_OK and len(data) >= 4:
            detail = f"{READER_INFO} firmware={data[0]}.{data[1]:02d} model=0x{data[2]:02X} protocols=0x{data[3]:02X}"
            return [self._event(ReaderEventKind.OTHER, detail, frame)]
        return [self._event(ReaderEventKind.OTHER, f"response cmd=0x{cmd:02X} status=0x{status:02X}", frame)]

    def _decode_inventory(self, status: int, data: bytes, frame: bytes) -> list[Decoded]:
        if status == STATUS_NO_TAG and not data:
            self._pending.append(inventory())
            return [self._status(f"{END_OF_ROUND} tags=0", frame)]
        if status not in (STATUS_ROUND_DONE, STATUS_ROUND_TIMEOUT, STATUS_MORE_FRAMES, STATUS_BUFFER_FULL):
            return [self._event(ReaderEventKind.OTHER, f"response cmd=0x01 status=0x{status:02X}", frame)]
        parsed = self._parse_tags(data, frame)
        if isinstance(parsed, str):
            return [self._malformed(parsed, frame)]
        out: list[Decoded] = list(parsed)
        if status == STATUS_BUFFER_FULL:
            out.append(self._event(ReaderEventKind.OVERFLOW, "buffer_full", frame))
        elif status == STATUS_ROUND_TIMEOUT:
            out.append(self._status(f"{END_OF_ROUND} timeout", frame))
        elif status == STATUS_ROUND_DONE:
            out.append(self._status(END_OF_ROUND, frame))
        if status != STATUS_MORE_FRAMES:
            self._pending.append(inventory())  # the reader answers one round per command: ask for the next
        return out

    def _parse_tags(self, data: bytes, frame: bytes) -> list[TagRead] | str:
        """The reads of an inventory DATA, or why it does not add up."""
        antenna: int | None = None
        at = 0
        if self.with_rssi:
            if not data:
                return "no antenna byte"
            mask, at = data[0], 1
            antenna = mask.bit_length() if mask and mask & (mask - 1) == 0 else None
        if len(data) <= at:
            return "no tag count"
        count, at = data[at], at + 1
        reads = []
        for _ in range(count):
            size = data[at] if at < len(data) else 0
            end = at + 1 + size
            if size == 0 or end + int(self.with_rssi) > len(data) or size > 62:
                return "tag list does not match the tag count"
            # 288: the byte after the EPC is a relative strength, deliberately not reported as dBm.
            reads.append(self._read(data[at + 1 : end], frame, antenna, None))
            at = end + int(self.with_rssi)
        if at != len(data):
            return "bytes after the last tag"
        return reads


class Chafon18Protocol(_ChafonProtocol):
    """UHFReader18 dialect: DATA = count, then (length, EPC) per tag; no antenna, no RSSI."""

    name: ClassVar[str] = "chafon18"
    with_rssi: ClassVar[bool] = False
    default_baudrate: ClassVar[int] = 57600


class Chafon288Protocol(_ChafonProtocol):
    """UHFReader288 dialect: DATA = antenna mask, count, then (length, EPC, relative RSSI) per tag."""

    name: ClassVar[str] = "chafon288"
    with_rssi: ClassVar[bool] = True
    default_baudrate: ClassVar[int] = 57600

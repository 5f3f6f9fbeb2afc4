"""Emulators of the serial reader protocols on a pty: ThingMagic, Chafon 18/288, R2000 and a text-line reader."""

from __future__ import annotations

from collections.abc import Callable

from hardware.serial import chafon, r2000, thingmagic
from hardware.serial.crc import chafon_crc, thingmagic_crc
from simulators.serial.base import HOP_CHANNELS_KHZ, PtyEmulator, Radio, Tag, hop_channel, tag_phase_deg


def _take_frames(inbox: bytearray, start: Callable[[bytearray], int | None], valid: Callable[[bytes], bool]) -> list[bytes]:
    """Cut complete, valid frames off the front of `inbox`; `start` gives a frame's length (0: not a start)."""
    frames = []
    while inbox:
        length = start(inbox)
        if length is None or length > len(inbox):
            break
        if length and valid(bytes(inbox[:length])):
            frames.append(bytes(inbox[:length]))
            del inbox[:length]
        else:
            del inbox[:1]
    return frames


class ThingMagicEmulator(PtyEmulator):
    """A Mercury module: answers Get Version, streams one tag per tick after start reading, keep-alives."""

    keepalive_every = 25  # ticks between keep-alives (a real module sends about one a second)

    def __init__(self, tags: list[Tag], **kwargs: object) -> None:
        super().__init__(tags, **kwargs)  # type: ignore[arg-type]
        self.reading = False
        self._ticks = 0

    def split_commands(self, inbox: bytearray) -> list[bytes]:
        """FF LEN OPCODE DATA CRC frames."""
        def start(buf: bytearray) -> int | None:
            if buf[0] != thingmagic.HEADER:
                return 0
            return buf[1] + 5 if len(buf) >= 2 else None
        return _take_frames(inbox, start, lambda f: thingmagic_crc(f[1:-2]) == int.from_bytes(f[-2:], "big"))

    def on_command(self, command: bytes) -> None:
        """Version, start and stop continuous reading."""
        opcode, data = command[2], command[3:-2]
        if opcode == thingmagic.OP_GET_VERSION:
            self._send(thingmagic.encode_response(opcode, 0, thingmagic.encode_version_data()))
        elif opcode == thingmagic.OP_MULTI_PROTOCOL_TAG_OP:
            self.reading = data[2:3] == b"\x01"
            self._send(thingmagic.encode_response(opcode, 0))
        else:
            self._send(thingmagic.encode_response(opcode, 0x0101))  # unsupported opcode

    def on_tick(self) -> None:
        """Keep-alives, and the next tag of the field while reading."""
        if not self.reading:
            return
        self._ticks += 1
        if self._ticks % self.keepalive_every == 1:
            self._send(thingmagic.encode_response(thingmagic.OP_READ_TAG_ID_MULTIPLE, thingmagic.STATUS_KEEPALIVE))
        if self.tags and not self.exhausted:
            tag = self.tags[self.log.tag_frames % len(self.tags)]
            khz = HOP_CHANNELS_KHZ[hop_channel(self.log.tag_frames)]  # the module hops channel every read here
            phase = tag_phase_deg(tag, khz)
            data = thingmagic.encode_tag_data(tag.epc_bytes, antenna=tag.antenna, rssi_dbm=tag.rssi_dbm,
                                              frequency_khz=khz, timestamp_ms=self._ticks * 10, phase_deg=phase)
            self.send_tag_frame(thingmagic.encode_response(thingmagic.OP_READ_TAG_ID_MULTIPLE, 0, data), [tag],
                                radio=Radio(khz, float(phase)))

    def on_unplug(self) -> None:
        """A power-cycled module is idle."""
        self.reading = False


class _PolledEmulator(PtyEmulator):
    """A reader that answers one inventory round per command (Chafon, R2000), on the next tick."""

    def __init__(self, tags: list[Tag], **kwargs: object) -> None:
        super().__init__(tags, **kwargs)  # type: ignore[arg-type]
        self.round_requested = False
        self.rounds = 0

    def on_tick(self) -> None:
        """Answer a pending inventory command with a whole round."""
        if self.round_requested:
            self.round_requested = False
            self.rounds += 1
            self.send_round([] if self.exhausted else self.tags)

    def on_unplug(self) -> None:
        """A pending command dies with the link."""
        self.round_requested = False

    def send_round(self, tags: list[Tag]) -> None:
        """The frames of one round."""
        raise NotImplementedError


class _Chafon(_PolledEmulator):
    dialect_288 = False
    tags_per_frame = 2

    def split_commands(self, inbox: bytearray) -> list[bytes]:
        """LEN ADR CMD DATA CRC frames."""
        return _take_frames(inbox, lambda b: b[0] + 1 if b[0] >= 4 else 0,
                            lambda f: chafon_crc(f[:-2]) == int.from_bytes(f[-2:], "little"))

    def on_command(self, command: bytes) -> None:
        """Reader info, serial number, inventory."""
        cmd = command[2]
        if cmd == chafon.CMD_INVENTORY:
            self.round_requested = True
        elif cmd == chafon.CMD_READER_INFO:
            info = bytes([3, 1, 0x0D if self.dialect_288 else 0x09, 0x02, 0x3E, 0x00, 0x1E, 0x0A])
            self._send(chafon.encode_response(cmd, chafon.STATUS_OK, info))
        elif cmd == chafon.CMD_SERIAL_NUMBER:
            self._send(chafon.encode_response(cmd, chafon.STATUS_OK, bytes.fromhex(self.serial_number)))
        else:
            self._send(chafon.encode_response(cmd, 0xFE))  # illegal command

    def send_round(self, tags: list[Tag]) -> None:
        """Tag frames with status 0x03 (more follow), then an empty 0x01 frame ending the round."""
        for at in range(0, len(tags), self.tags_per_frame):
            group = tags[at : at + self.tags_per_frame]
            if self.dialect_288:
                # One antenna per frame: the 288 reports an antenna mask per inventory frame.
                for tag in group:
                    data = chafon.encode_inventory_data([tag.epc_bytes], antenna=tag.antenna, rssi=[170])
                    self.send_tag_frame(chafon.encode_response(1, chafon.STATUS_MORE_FRAMES, data), [tag])
            else:
                data = chafon.encode_inventory_data([t.epc_bytes for t in group])
                self.send_tag_frame(chafon.encode_response(1, chafon.STATUS_MORE_FRAMES, data), group)
        empty = chafon.encode_inventory_data([], antenna=1 if self.dialect_288 else None)
        self._send(chafon.encode_response(1, chafon.STATUS_ROUND_DONE, empty))


class Chafon18Emulator(_Chafon):
    """A UHFReader18: EPCs only, two per frame."""


class Chafon288Emulator(_Chafon):
    """A UHFReader288: antenna mask and relative RSSI per tag."""

    dialect_288 = True


class R2000Emulator(_PolledEmulator):
    """An R2000 module: firmware version, 12-byte identifier, real-time inventory rounds."""

    def split_commands(self, inbox: bytearray) -> list[bytes]:
        """A0 LEN ADDR CMD DATA CHECK frames."""
        def start(buf: bytearray) -> int | None:
            if buf[0] != r2000.HEADER:
                return 0
            return buf[1] + 2 if len(buf) >= 2 else None
        return _take_frames(inbox, start, lambda f: sum(f) & 0xFF == 0)

    @property
    def identifier(self) -> bytes:
        """The 12-byte identifier: the serial number, zero-padded on the left."""
        return bytes.fromhex(self.serial_number).rjust(r2000.IDENTIFIER_BYTES, b"\x00")

    def on_command(self, command: bytes) -> None:
        """Firmware version, identifier, real-time inventory."""
        cmd = command[3]
        if cmd == r2000.CMD_REAL_TIME_INVENTORY:
            self.round_requested = True
        elif cmd == r2000.CMD_GET_FIRMWARE_VERSION:
            self._send(r2000.encode_frame(cmd, bytes([8, 2])))
        elif cmd == r2000.CMD_GET_READER_IDENTIFIER:
            self._send(r2000.encode_frame(cmd, self.identifier))
        else:
            self._send(r2000.encode_frame(cmd, b"\x11"))  # an error code

    def send_round(self, tags: list[Tag]) -> None:
        """One record per tag, then the end-of-round summary; noise, if due this round, goes first.

        A record followed by noise is dropped by the framer (8-bit check: records must be followed by a
        frame start), so the emulator puts a round's noise before its first record to keep its log exact.
        """
        due = [self.faults.fault(self.log.tag_frames + i) for i in range(len(tags))]
        for _ in range(due.count("noise")):
            self.log.noise += 1
            self._send(self.faults.noise_bytes)
        for tag in tags:
            channel = hop_channel(self.log.tag_frames)  # the record's FreqAnt carries the channel number only
            record = r2000.encode_tag_record(tag.epc_bytes, antenna=tag.antenna, rssi_dbm=tag.rssi_dbm, frequency_index=channel)
            self.send_tag_frame(r2000.encode_frame(r2000.CMD_REAL_TIME_INVENTORY, record), [tag], noise=False,
                                radio=Radio(frequency_index=channel))
        summary = r2000.encode_end_of_round(antenna=1, read_rate=len(tags) * 10, total_reads=len(tags))
        self._send(r2000.encode_frame(r2000.CMD_REAL_TIME_INVENTORY, summary))


class TextLineEmulator(PtyEmulator):
    """A reader in text mode: `EPC ANTENNA RSSI` lines once `play()` is called (it has no command to start it)."""

    def __init__(self, tags: list[Tag], **kwargs: object) -> None:
        super().__init__(tags, **kwargs)  # type: ignore[arg-type]
        self.playing = False

    def play(self) -> None:
        """Start streaming lines (call once the driver has the port open: opening flushes pending input)."""
        self.playing = True

    def split_commands(self, inbox: bytearray) -> list[bytes]:
        """Text readers take no commands: drop whatever arrives."""
        inbox.clear()
        return []

    def on_command(self, command: bytes) -> None:
        """Never called."""

    def on_tick(self) -> None:
        """The next tag's line; a noise fault is a garbage line."""
        if self.playing and self.tags and not self.exhausted:
            tag = self.tags[self.log.tag_frames % len(self.tags)]
            line = f"{tag.epc} {tag.antenna} {tag.rssi_dbm:.1f}\r\n".encode()
            if self.faults.fault(self.log.tag_frames) == "noise":
                self.log.noise += 1
                self._send(b"\x15garbage\r\n")
            self.log.tag_frames += 1
            self.log.good_reads.append(tag)
            self.log.good_radio.append(Radio())
            self._send(line)


EMULATORS: dict[str, type[PtyEmulator]] = {
    "thingmagic": ThingMagicEmulator,
    "chafon18": Chafon18Emulator,
    "chafon288": Chafon288Emulator,
    "r2000": R2000Emulator,
    "text": TextLineEmulator,
}

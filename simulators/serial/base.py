"""A serial reader emulator on a real pseudo-terminal: the driver opens the slave side like a USB reader.

The emulator keeps its own slave descriptor open (so the master never sees a hang-up
before the driver connects) and puts the line in raw mode (no echo, no CR/LF
translation). `unplug()` closes the pair, which the driver sees as a read error,
exactly like a USB adapter pulled out, and removes the link if there is one (as
udev does); `replug()` makes a new pair and, when the emulator was given a link
path, points that path at it, like a udev /dev/serial/by-id/... link.
"""

from __future__ import annotations

import abc
import os
import select
import threading
import time
import tty
from dataclasses import dataclass, field
from pathlib import Path

from simulators.reader_payloads import IMPINJ_FREQUENCIES_KHZ

# Noise as a real line picks it up: a header byte buried in it, but no plausible frame start.
DEFAULT_NOISE = bytes.fromhex("0055FF00A002")
TICK_S = 0.005


@dataclass(frozen=True, slots=True)
class Tag:
    """One tag in the emulated field."""

    epc: str  # hex
    antenna: int = 1
    rssi_dbm: int = -60

    @property
    def epc_bytes(self) -> bytes:
        """The EPC as bytes."""
        return bytes.fromhex(self.epc)


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Which outgoing tag frames get a fault: frame number modulo `period` equal to the given residue."""

    period: int = 10
    noise: int | None = None  # noise bytes written before this frame
    truncated: int | None = None  # only the first half of this frame is written
    bad_crc: int | None = None  # this frame's last check byte is flipped
    noise_bytes: bytes = DEFAULT_NOISE

    def fault(self, number: int) -> str | None:
        """The fault for frame `number` ("noise", "truncated", "bad_crc") or None."""
        residue = number % self.period
        for name in ("noise", "truncated", "bad_crc"):
            if getattr(self, name) == residue:
                return name
        return None


NO_FAULTS = FaultPlan()

# The channels the emulated readers hop over: the FCC plan the MQTT reader simulators use (902.75-927.25 MHz).
HOP_CHANNELS_KHZ = IMPINJ_FREQUENCIES_KHZ
HOP_STRIDE = 7  # channel n of the sequence is (n * 7) mod 50: every channel once per 50 hops, never twice in a row
TAG_DISTANCE_M = (0.5, 3.5)  # tags sit this far from the antenna (fixed per tag), for their phase


def hop_channel(step: int) -> int:
    """The channel number (index into HOP_CHANNELS_KHZ) of hop `step`, a pseudo-random walk like a reader's."""
    return step * HOP_STRIDE % len(HOP_CHANNELS_KHZ)


def tag_phase_deg(tag: Tag, frequency_khz: int) -> int:
    """The reply's phase for a tag at its (fixed, EPC-derived) distance: 2 * distance * 360 / wavelength, folded
    into 0-180 degrees as ThingMagic modules report it; it changes with the channel, as it does on air."""
    low, high = TAG_DISTANCE_M
    distance_m = low + (int(tag.epc[-4:], 16) % 1000) / 1000 * (high - low)
    wavelengths = 2 * distance_m * frequency_khz * 1000 / 299_792_458
    return round(wavelengths * 360) % 180


@dataclass(frozen=True, slots=True)
class Radio:
    """The radio metadata a tag frame was sent with (what the driver should report back)."""

    frequency_khz: int | None = None
    phase_deg: float | None = None
    frequency_index: int | None = None


@dataclass(slots=True)
class EmulatorLog:
    """What the emulator did, so a test can compare it with what the driver decoded."""

    commands: list[bytes] = field(default_factory=list)
    good_reads: list[Tag] = field(default_factory=list)  # tags inside frames sent intact
    good_radio: list[Radio] = field(default_factory=list)  # the radio metadata of each of good_reads, in its order
    lost_reads: list[Tag] = field(default_factory=list)  # tags inside truncated or corrupted frames
    noise: int = 0
    truncated: int = 0
    bad_crc: int = 0
    tag_frames: int = 0


class PtyEmulator(abc.ABC):
    """Owns a pty pair and a thread that answers commands and streams frames; subclasses speak a protocol."""

    def __init__(self, tags: list[Tag], *, link: Path | None = None, faults: FaultPlan = NO_FAULTS,
                 interval_s: float = 0.01, max_tag_frames: int | None = None, serial_number: str = "1A2B3C4D") -> None:
        self.tags = list(tags)
        self.link = link
        self.faults = faults
        self.interval_s = interval_s
        self.max_tag_frames = max_tag_frames  # after this many tag frames the field empties
        self.serial_number = serial_number
        self.log = EmulatorLog()
        self._lock = threading.RLock()
        self._master: int | None = None
        self._slave: int | None = None
        self._slave_path = ""
        self._inbox = bytearray()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_tick = 0.0
        self.plugs = 0

    @property
    def path(self) -> str:
        """What the driver opens: the link when there is one, else the current /dev/pts/N."""
        return str(self.link) if self.link is not None else self._slave_path

    @property
    def exhausted(self) -> bool:
        """True once `max_tag_frames` tag frames have been sent."""
        return self.max_tag_frames is not None and self.log.tag_frames >= self.max_tag_frames

    def start(self) -> PtyEmulator:
        """Open the pty pair and start answering."""
        self.replug()
        self._thread = threading.Thread(target=self._run, name=f"emulator-{type(self).__name__}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and close the pair."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
        # Commands already on the line are still taken: a driver's last words (stop reading) written before
        # stop() was called must reach the log, not depend on whether the thread had its next turn.
        with self._lock:
            self._take_commands()
        self.unplug()

    def __enter__(self) -> PtyEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def unplug(self) -> None:
        """Close the pty pair and remove the link, as udev removes /dev/ttyUSB0: the driver's next read fails."""
        with self._lock:
            # A link left behind would point at a /dev/pts/N the kernel hands to the next pty opened on the
            # machine: the driver would reconnect to another process's emulator and read its tags.
            if self.link is not None and self.link.is_symlink():
                self.link.unlink()
            for fd in (self._master, self._slave):
                if fd is not None:
                    os.close(fd)
            self._master = self._slave = None
            self._inbox.clear()
            self.on_unplug()

    def replug(self) -> None:
        """A new pty pair (a new /dev/pts/N), with the link, if any, pointing at it."""
        with self._lock:
            if self._master is not None:
                self.unplug()
            master, slave = os.openpty()
            tty.setraw(slave)  # no echo, no line editing, no CR/LF translation
            os.set_blocking(master, False)
            self._master, self._slave, self._slave_path = master, slave, os.ttyname(slave)
            if self.link is not None:
                staging = self.link.with_name(self.link.name + ".new")
                staging.unlink(missing_ok=True)
                staging.symlink_to(self._slave_path)
                os.replace(staging, self.link)  # atomic: the driver never sees a missing link mid-swap
            self.plugs += 1

    def inject(self, data: bytes) -> None:
        """Write raw bytes on the line now (noise, a hand-made frame)."""
        with self._lock:
            self._send(data)

    def _send(self, data: bytes) -> None:
        if self._master is None:
            return
        view = memoryview(data)
        deadline = time.monotonic() + 2
        while view and time.monotonic() < deadline:
            try:
                written = os.write(self._master, view)
            except BlockingIOError:
                select.select([], [self._master], [], 0.05)  # the driver is behind: wait for room
                continue
            except OSError:
                return
            view = view[written:]

    def send_tag_frame(self, frame: bytes, tags: list[Tag], *, noise: bool = True, radio: Radio = Radio()) -> None:
        """Send a frame carrying `tags` (reported with `radio`), applying the fault plan (noise=False: the caller placed the noise)."""
        fault = self.faults.fault(self.log.tag_frames)
        self.log.tag_frames += 1
        if fault == "noise" and noise:
            self.log.noise += 1
            self._send(self.faults.noise_bytes)
        if fault == "truncated":
            self.log.truncated += 1
            self.log.lost_reads.extend(tags)
            self._send(frame[: len(frame) // 2])
        elif fault == "bad_crc":
            self.log.bad_crc += 1
            self.log.lost_reads.extend(tags)
            self._send(frame[:-1] + bytes([frame[-1] ^ 0xFF]))
        else:
            self.log.good_reads.extend(tags)
            self.log.good_radio.extend([radio] * len(tags))
            self._send(frame)

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                master = self._master
                if master is not None:
                    readable, _, _ = select.select([master], [], [], TICK_S)
                    if readable:
                        self._take_commands()
                    now = time.monotonic()
                    if now >= self._next_tick:
                        self._next_tick = now + self.interval_s
                        self.on_tick()
            if master is None:
                self._stopping.wait(TICK_S)

    def _take_commands(self) -> None:
        """Read what the host has written (without waiting) and answer each complete command."""
        while self._master is not None:
            try:
                data = os.read(self._master, 4096)
            except OSError:  # nothing more to read (non-blocking), or no slave open right now
                break
            if not data:
                break
            self._inbox += data
        for command in self.split_commands(self._inbox):
            self.log.commands.append(command)
            self.on_command(command)

    @abc.abstractmethod
    def split_commands(self, inbox: bytearray) -> list[bytes]:
        """Complete host commands taken off the front of `inbox` (garbage dropped)."""

    @abc.abstractmethod
    def on_command(self, command: bytes) -> None:
        """Answer one host command."""

    def on_tick(self) -> None:
        """Called every `interval_s`: stream frames when the protocol streams."""

    def on_unplug(self) -> None:
        """Forget session state (an unplugged reader stops its inventory)."""

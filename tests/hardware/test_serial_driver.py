"""The serial driver against emulated readers on real pseudo-terminals: each protocol end to end, faults, unplugging."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from hardware.errors import PortUnavailable, opening
from hardware.serial import ReadQueue, SerialReaderDriver, make_protocol, open_driver, thingmagic
from rfid.reads import ReaderEvent, ReaderEventKind, TagRead
from simulators.serial import EMULATORS, FaultPlan, Radio, Tag, TextLineEmulator, ThingMagicEmulator

from tests.hardware.conftest import TAGS, wait_until

FAULTS = FaultPlan(period=10, noise=2, truncated=5, bad_crc=8)


class Collector:
    """Reads and events as the driver delivers them (appends are atomic: no lock needed)."""

    def __init__(self) -> None:
        self.reads: list[TagRead] = []
        self.events: list[ReaderEvent] = []

    def kinds(self) -> list[ReaderEventKind]:
        return [e.kind for e in self.events if e.kind in (ReaderEventKind.READER_ONLINE, ReaderEventKind.READER_OFFLINE)]


Key = tuple[str, int | None, float | None, int | None, float | None, int | None]


def expected_key(name: str, tag: Tag, radio: Radio) -> Key:
    antenna = None if name == "chafon18" else tag.antenna
    rssi = None if name.startswith("chafon") else float(tag.rssi_dbm)
    return tag.epc, antenna, rssi, radio.frequency_khz, radio.phase_deg, radio.frequency_index


def read_key(read: TagRead) -> Key:
    return read.epc, read.antenna, read.rssi_dbm, read.frequency_khz, read.phase_deg, read.frequency_index


@pytest.mark.parametrize("name", sorted(EMULATORS))
def test_each_protocol_end_to_end_with_faults_counted_and_skipped(name: str, fast_timings: None) -> None:
    faults = FaultPlan(period=10, noise=2) if name == "text" else FAULTS
    got = Collector()
    with EMULATORS[name](TAGS, faults=faults, max_tag_frames=30) as emulator:
        driver = open_driver(emulator.path, name, reader_id="rd-1", on_read=got.reads.append, on_event=got.events.append)
        try:
            wait_until(lambda: driver.online, what="driver online")
            if isinstance(emulator, TextLineEmulator):
                emulator.play()
            wait_until(lambda: emulator.exhausted and len(got.reads) >= len(emulator.log.good_reads), what="all good reads")
        finally:
            driver.stop()
    log = emulator.log
    assert len(log.good_radio) == len(log.good_reads)
    assert Counter(map(read_key, got.reads)) == Counter(map(expected_key, [name] * len(log.good_reads), log.good_reads, log.good_radio))
    # The readers that report radio metadata hop channels: the reads carry more than one frequency (or channel).
    if name == "thingmagic":
        assert len({r.frequency_khz for r in got.reads}) > 10 and len({r.phase_deg for r in got.reads}) > 10
    if name == "r2000":
        assert len({r.frequency_index for r in got.reads}) > 10 and {r.frequency_khz for r in got.reads} == {None}
    assert {r.reader for r in got.reads} == {"rd-1"} and {r.source for r in got.reads} == {name}
    stats = driver.protocol.stats
    if name == "text":
        assert stats.malformed == emulator.log.noise == 3
    else:
        assert (stats.crc_errors, stats.truncated, stats.noise_bytes) == (3, 3, 3 * len(faults.noise_bytes))
        assert emulator.log.lost_reads and stats.malformed == 0
    assert got.kinds()[0] is ReaderEventKind.READER_ONLINE
    if name in ("chafon18", "chafon288", "r2000"):
        assert driver.protocol.reader_serial is not None and driver.protocol.reader_serial.endswith("1A2B3C4D")


def test_unplugged_reader_goes_offline_then_resumes(tmp_path: Path, fast_timings: None) -> None:
    link = tmp_path / "ttyUSB-nano"
    got = Collector()
    with ThingMagicEmulator(TAGS, link=link) as emulator:
        driver = open_driver(str(link), "thingmagic", reader_id="nano", on_read=got.reads.append, on_event=got.events.append)
        try:
            wait_until(lambda: len(got.reads) >= 5, what="first reads")
            emulator.unplug()
            wait_until(lambda: ReaderEventKind.READER_OFFLINE in got.kinds(), what="offline")
            assert not driver.online and driver.stats.port_losses == 1
            before = len(got.reads)
            emulator.replug()  # a new /dev/pts/N behind the same link
            wait_until(lambda: got.kinds()[-1] is ReaderEventKind.READER_ONLINE and len(got.reads) > before + 5,
                       what="online again with new reads")
        finally:
            driver.stop()
        # The driver's last words are on the line; the emulator must read them before it is closed.
        wait_until(lambda: emulator.log.commands[-1:] == [thingmagic.stop_reading()], what="the stop command read by the reader")
    assert got.kinds() == [ReaderEventKind.READER_ONLINE, ReaderEventKind.READER_OFFLINE, ReaderEventKind.READER_ONLINE]
    offline = next(e for e in got.events if e.kind is ReaderEventKind.READER_OFFLINE)
    assert offline.reader == "nano" and offline.detail
    assert emulator.plugs == 2 and driver.stats.opens >= 2
    # The driver sent its start-up commands again to the new pty, and stop() stopped reading.
    assert emulator.log.commands.count(thingmagic.get_version()) == 2
    assert emulator.log.commands[-1] == thingmagic.stop_reading()


def test_missing_port_retries_with_backoff_until_the_reader_appears(tmp_path: Path, fast_timings: None) -> None:
    link = tmp_path / "ttyUSB-r2000"
    got = Collector()
    driver = open_driver(str(link), "r2000", reader_id="yr", on_read=got.reads.append, on_event=got.events.append)
    try:
        wait_until(lambda: driver.stats.open_failures >= 3, what="retries")
        assert got.kinds() == [ReaderEventKind.READER_OFFLINE]  # reported once, not once per retry
        assert driver.last_error is not None and "ENOENT" in driver.last_error
        with EMULATORS["r2000"](TAGS, link=link):
            wait_until(lambda: len(got.reads) >= 3, what="reads once the port exists")
    finally:
        driver.stop()
    assert got.kinds()[:2] == [ReaderEventKind.READER_OFFLINE, ReaderEventKind.READER_ONLINE]


def test_a_reader_that_stops_reading_is_restarted(fast_timings: None) -> None:
    got = Collector()
    with ThingMagicEmulator(TAGS) as emulator:
        with SerialReaderDriver(emulator.path, make_protocol("thingmagic"), on_read=got.reads.append):
            wait_until(lambda: len(got.reads) >= 3, what="first reads")
            emulator.reading = False  # the module stopped on its own (brown-out, watchdog)
            before = len(got.reads)
            wait_until(lambda: len(got.reads) > before + 3, what="reads after the restart command")
    assert emulator.log.commands.count(thingmagic.start_reading()) >= 2


def test_wrong_serial_number_withholds_reads(fast_timings: None) -> None:
    got = Collector()
    with EMULATORS["chafon288"](TAGS, serial_number="0BADCAFE") as emulator:
        driver = open_driver(emulator.path, "chafon288", on_read=got.reads.append, on_event=got.events.append,
                             expected_serial="1A2B3C4D")
        try:
            wait_until(lambda: driver.stats.withheld_reads >= 3, what="withheld reads")
        finally:
            driver.stop()
    assert got.reads == [] and got.kinds() == [ReaderEventKind.READER_OFFLINE]
    assert "0BADCAFE" in (driver.last_error or "")


def test_failing_callback_and_bounded_queue(fast_timings: None) -> None:
    sink = ReadQueue(maxsize=5)
    calls = []

    def explode(read: TagRead) -> None:
        calls.append(read)
        sink.on_read(read)
        raise RuntimeError("consumer bug")

    with EMULATORS["r2000"](TAGS) as emulator:
        driver = open_driver(emulator.path, "r2000", on_read=explode)
        try:
            wait_until(lambda: len(calls) >= 20, what="reads despite the failing callback")
        finally:
            driver.stop()
    assert driver.stats.callback_errors >= 20 and sink.queue.qsize() == 5 and sink.dropped_reads >= 15


def test_loop_url_and_clean_stop(fast_timings: None) -> None:
    got = Collector()
    driver = open_driver("loop://", "text", on_event=got.events.append)
    wait_until(lambda: driver.online, what="loop port open")
    driver.stop()
    assert driver._thread is None and got.kinds() == [ReaderEventKind.READER_ONLINE]


def test_bad_url_is_a_hardware_error() -> None:
    with pytest.raises(PortUnavailable, match="nope://"):
        with opening("nope://x"):
            import serial

            serial.serial_for_url("nope://x")



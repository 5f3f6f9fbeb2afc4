"""Serial readers on real pseudo-terminals, configured in the readers file, move stock exactly once: every protocol,
with noise, truncated and bad-check frames on the line, and a reader unplugged and plugged back in."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fulfil.ingest.config import parse_config
from fulfil.ingest.runtime import IngestRuntime
from simulators.serial import EMULATORS, FaultPlan, Tag
from tests.ingest.conftest import events, on_hand

DEADLINE_S = 20.0


def wait_for(condition: Callable[[], bool], runtime: IngestRuntime, what: str) -> None:
    """Poll a condition with a deadline: the reader streams continuously, the runtime commits on its clock."""
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {runtime.status()}"
        time.sleep(0.05)


def serial_config(site: dict[str, Any], port: str, protocol: str, departure_ms: int = 5000) -> str:
    return f"""
[zones.receiving]
arrival_reads = 2
arrival_ms = 0
departure_ms = {departure_ms}
[[readers]]
id = "{protocol}-{site['store']}"
location = "{site['store']}"
transport = "serial"
port = "{port}"
protocol = "{protocol}"
[readers.antennas]
1 = "receiving"
"""


@pytest.mark.parametrize("protocol", sorted(EMULATORS))
def test_each_serial_protocol_receives_tags_once_through_a_noisy_line(site: dict[str, Any], protocol: str) -> None:
    tags = [Tag(epc, antenna=1, rssi_dbm=-50) for epc in site["epcs"][:4]]
    faults = FaultPlan(period=7, noise=1, truncated=3, bad_crc=5)
    with EMULATORS[protocol](tags, faults=faults) as emulator:
        runtime = IngestRuntime(parse_config(serial_config(site, emulator.path, protocol)), site["factory"], mqtt_url=None)
        runtime.start()
        try:
            if protocol == "text":  # a text reader just talks: let it once the driver has the port open
                wait_for(lambda: runtime.status()["serial"][f"text-{site['store']}"]["online"], runtime, "the port open")
                emulator.play()  # type: ignore[attr-defined]
            wait_for(lambda: on_hand(site["factory"], site["store"], site["gtin"]) >= 4, runtime, "4 receipts")
            # The reader keeps reading the same tags, faults and all: nothing more happens to stock.
            reads_then = runtime.pipeline.counters.reads
            damaged = lambda: emulator.log.noise + emulator.log.truncated + emulator.log.bad_crc  # noqa: E731
            wait_for(lambda: runtime.pipeline.counters.reads >= reads_then + 20 and damaged() >= 2, runtime, "more reads and some damaged frames")
            runtime.pipeline.commit()
            assert on_hand(site["factory"], site["store"], site["gtin"]) == 4
            assert sorted(e.epc for e in events(site["factory"], site["store"])) == sorted(t.epc for t in tags)
            assert runtime.pipeline.counters.rejected > 0, "damaged frames were not counted"
            assert runtime.status()["serial"][f"{protocol}-{site['store']}"]["online"] is True
        finally:
            runtime.stop()


def test_an_unplugged_reader_freezes_its_zones_and_resumes_when_plugged_back(site: dict[str, Any], tmp_path: Path) -> None:
    tags = [Tag(epc, antenna=1, rssi_dbm=-50) for epc in site["epcs"][:3]]
    link = tmp_path / "ttyUSB-reader"
    reader = f"thingmagic-{site['store']}"
    with EMULATORS["thingmagic"](tags, link=link) as emulator:
        # A short departure time: were the zone not frozen, the unplugged reader's silence would read as "gone".
        runtime = IngestRuntime(parse_config(serial_config(site, str(link), "thingmagic", departure_ms=300)), site["factory"], mqtt_url=None)
        runtime.start()
        try:
            wait_for(lambda: on_hand(site["factory"], site["store"], site["gtin"]) == 3, runtime, "3 receipts")
            emulator.unplug()
            wait_for(lambda: runtime.status()["serial"][reader]["online"] is False, runtime, "the driver to notice")
            zone = f"{site['store']}/receiving"
            assert runtime.pipeline.engine.tags_in(zone) == {t.epc for t in tags}
            silent_until = time.monotonic() + 1.5  # five departure times of silence
            while time.monotonic() < silent_until:
                runtime.pipeline.commit()
                time.sleep(0.1)
            assert runtime.pipeline.engine.tags_in(zone) == {t.epc for t in tags}, "tags departed from a zone nobody could see"
            emulator.replug()  # a new /dev/pts/N behind the same link, as udev does
            wait_for(lambda: runtime.status()["serial"][reader]["online"] is True, runtime, "the driver to reconnect")
            reads_then = runtime.pipeline.counters.reads
            wait_for(lambda: runtime.pipeline.counters.reads >= reads_then + 10, runtime, "reads after the replug")
            runtime.pipeline.commit()
            assert on_hand(site["factory"], site["store"], site["gtin"]) == 3
            assert [e.kind.value for e in events(site["factory"], site["store"])] == ["receipt"] * 3
        finally:
            runtime.stop()

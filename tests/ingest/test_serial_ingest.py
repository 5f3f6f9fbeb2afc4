"""A serial reader on a real pseudo-terminal, configured in the readers file, moves stock exactly once."""

from __future__ import annotations

import time
from typing import Any

from fulfil.ingest.config import parse_config
from fulfil.ingest.runtime import IngestRuntime
from simulators.serial import EMULATORS, Tag
from tests.ingest.conftest import events, on_hand

DEADLINE_S = 20.0


def test_thingmagic_reader_receives_tags_once(site: dict[str, Any]) -> None:
    tags = [Tag(epc, antenna=1, rssi_dbm=-50) for epc in site["epcs"][:4]]
    with EMULATORS["thingmagic"](tags) as emulator:
        config = parse_config(f"""
[zones.receiving]
arrival_reads = 2
arrival_ms = 0
[[readers]]
id = "nano-{site['store']}"
location = "{site['store']}"
transport = "serial"
port = "{emulator.path}"
protocol = "thingmagic"
[readers.antennas]
1 = "receiving"
""")
        runtime = IngestRuntime(config, site["factory"], mqtt_url=None)
        runtime.start()
        try:
            deadline = time.monotonic() + DEADLINE_S
            while on_hand(site["factory"], site["store"], site["gtin"]) < 4:
                assert time.monotonic() < deadline, runtime.status()
                time.sleep(0.05)  # polling a condition with a deadline: the reader streams continuously
            # The reader keeps reading the same tags: nothing more happens to stock.
            reads_then = runtime.pipeline.counters.reads
            while runtime.pipeline.counters.reads < reads_then + 20:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            runtime.pipeline.commit()
            assert on_hand(site["factory"], site["store"], site["gtin"]) == 4
            assert [e.kind.value for e in events(site["factory"], site["store"])] == ["receipt"] * 4
        finally:
            runtime.stop()

"""Smoothing + zone engine throughput: reads/s for a store of 20,000 tags and 40 antennas.

The baseline, measured in the same run on the same reads, is the cheapest
possible placement: "last read wins" (one dict store per read), which is what
smoothing replaces. The target is absolute: at least 200,000 reads/s.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from benchmarks.report import Result, emit
from rfid.reads import TagRead
from rfid.smoothing import SmoothingEngine
from rfid.zones import Layout, PortalConfig, ZoneConfig

TAGS = 20_000
READERS = 10
ANTENNAS_PER_READER = 4  # 40 antennas
READS = 1_000_000
STORE_READS_PER_SECOND = 12_000  # a dozen fixed readers near peak: sets how fast simulated time advances
TICK_EVERY = 1_000  # reads between tick() calls (about 80 ms of simulated time)
TARGET = 200_000
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC).timestamp()

Read = tuple[str, int, str, float, float]


def store_layout() -> Layout:
    """18 placement zones of two antennas each, and an exit portal of two zones (4 antennas)."""
    zones = [ZoneConfig(f"zone-{i:02d}", rssi_floor_dbm=-75.0) for i in range(18)]
    zones += [ZoneConfig("exit-inner"), ZoneConfig("exit-outer")]
    antennas: dict[tuple[str | None, int | None], str] = {}
    ports = [(f"reader-{r}", a) for r in range(READERS) for a in range(1, ANTENNAS_PER_READER + 1)]
    for index, key in enumerate(ports[:36]):
        antennas[key] = f"zone-{index // 2:02d}"
    for key, name in zip(ports[36:], ("exit-inner", "exit-inner", "exit-outer", "exit-outer"), strict=True):
        antennas[key] = name
    return Layout.build(zones, antennas, [PortalConfig("exit", "exit-inner", "exit-outer")])


def store_reads(seed: int = 4) -> list[Read]:
    """Reads of a busy store: mostly a tag's home antennas, some strays next door, some tags moved, portal traffic."""
    rng = random.Random(seed)
    epcs = [f"30340{rng.getrandbits(76):019X}" for _ in range(TAGS)]
    home = [rng.randrange(36) for _ in range(TAGS)]
    ports = [(f"reader-{r}", a) for r in range(READERS) for a in range(1, ANTENNAS_PER_READER + 1)]
    reads: list[Read] = []
    step = 1.0 / STORE_READS_PER_SECOND
    for i in range(READS):
        tag = rng.randrange(TAGS)
        roll = rng.random()
        if roll < 0.001:  # a tag carried to another zone
            home[tag] = rng.randrange(36)
        if roll < 0.85:
            port, rssi = home[tag] ^ rng.getrandbits(1), rng.uniform(-65.0, -40.0)
        elif roll < 0.97:
            port, rssi = (home[tag] + 2) % 36, rng.uniform(-80.0, -60.0)  # a stray read from the next zone
        else:
            port, rssi = 36 + rng.randrange(4), rng.uniform(-70.0, -45.0)  # through the exit portal
        reader, antenna = ports[port]
        reads.append((reader, antenna, epcs[tag], round(rssi, 1), START + i * step))
    return reads


def run_engine(reads: list[Read]) -> float:
    """Seconds to push every read through the engine, ticking as a live service would."""
    engine = SmoothingEngine(store_layout())
    feed, tick = engine.feed, engine.tick
    began = time.perf_counter()
    for index in range(0, len(reads), TICK_EVERY):
        for reader, antenna, epc, rssi, t in reads[index : index + TICK_EVERY]:
            feed(reader, antenna, epc, rssi, t)
        tick(t)
        engine.drain()
    return time.perf_counter() - began


def run_observe(reads: list[TagRead]) -> float:
    """Seconds for the same reads as TagRead objects through observe() (timestamps as datetimes)."""
    engine = SmoothingEngine(store_layout())
    observe, tick = engine.observe, engine.tick
    began = time.perf_counter()
    for index in range(0, len(reads), TICK_EVERY):
        for read in reads[index : index + TICK_EVERY]:
            observe(read)
        tick(read.received_at)
        engine.drain()
    return time.perf_counter() - began


def run_last_read_wins(reads: list[Read]) -> float:
    """Seconds for the naive baseline: the tag is wherever it was last read."""
    where: dict[str, tuple[str, int]] = {}
    began = time.perf_counter()
    for reader, antenna, epc, _rssi, _t in reads:
        where[epc] = (reader, antenna)
    return time.perf_counter() - began


def main() -> None:
    """Measure and print engine throughput against the last-read-wins baseline."""
    reads = store_reads()
    baseline = len(reads) / min(run_last_read_wins(reads) for _ in range(3))
    figure = len(reads) / min(run_engine(reads) for _ in range(3))
    emit(Result("smoothing + zones (feed)", figure, "reads/s", "last read wins", baseline, f">= {TARGET:,} reads/s", figure >= TARGET))
    epoch = datetime.fromtimestamp(0, UTC)
    objects = [
        TagRead(epc, reader, antenna, rssi, None, epoch + timedelta(seconds=t))
        for reader, antenna, epc, rssi, t in reads[: READS // 4]
    ]
    figure_obj = len(objects) / run_observe(objects)
    emit(Result("smoothing + zones (observe TagRead)", figure_obj, "reads/s", "last read wins", baseline, f">= {TARGET:,} reads/s", figure_obj >= TARGET))


if __name__ == "__main__":
    main()

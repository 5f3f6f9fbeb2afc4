"""Wire payloads of MQTT RFID readers (Impinj IoT device interface, Zebra IoT Connector), seeded and deterministic.

A `PayloadFactory` walks a simulated clock through a tag population, one antenna per
zone, and renders each step as the JSON a real reader publishes: with duplicates
(the same payload again), cross-zone stray reads, a skewed reader clock, lost events
(Zebra `eventNum` gaps) and, on request, deliberately malformed payloads.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from rfid.epc import encode_sgtin96

ReaderFormat = Literal["impinj", "zebra"]
FORMATS: tuple[ReaderFormat, ...] = ("impinj", "zebra")
DEFAULT_START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
STRAY_RSSI_DBM = (-82.0, -68.0)  # a neighbour zone's tag, seen weakly through a shelf or a wall
HOME_RSSI_DBM = (-65.0, -38.0)
IMPINJ_FREQUENCIES_KHZ = tuple(902_750 + 500 * i for i in range(50))  # FCC hop table
ZEBRA_CHANNELS_MHZ = tuple(902.75 + 0.5 * i for i in range(50))


@dataclass(frozen=True, slots=True)
class ReaderSpec:
    """What one simulated reader sees and how it misbehaves."""

    name: str  # Impinj hostname; Zebra hostName
    fmt: ReaderFormat
    tags_by_antenna: Mapping[int, Sequence[str]]  # EPC hex of the tags each antenna's zone holds
    events_per_payload: int = 1  # 1: one JSON object per payload; more: a JSON array
    duplicate_rate: float = 0.0  # chance a payload is published twice (QoS 1 retry, reader resend)
    stray_rate: float = 0.0  # chance a read reports another zone's tag on this antenna
    clock_skew_s: float = 0.0  # the reader's clock minus the true time
    reads_per_second: float = 200.0  # pace of the simulated clock
    start: datetime = DEFAULT_START
    seed: int = 0
    zebra_type: str = "INVENTORY"  # or SIMPLE, PORTAL, CONVEYOR, CUSTOM (CUSTOM: eventNum, format, idHex only)
    always_array: bool = False  # wrap even a single event in an array (HTTP-stream style)

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise ValueError(f"unknown reader format {self.fmt!r}")
        if not any(self.tags_by_antenna.values()):
            raise ValueError("a reader needs at least one tag on one antenna")
        if self.events_per_payload < 1:
            raise ValueError("events_per_payload must be at least 1")


@dataclass(frozen=True, slots=True)
class SimulatedRead:
    """Ground truth of one read: what the reader saw, and when it really happened."""

    epc: str
    antenna: int
    rssi_dbm: float
    true_at: datetime
    stray: bool
    seq: int | None  # Zebra eventNum


@dataclass(slots=True)
class FactoryStats:
    """What a factory produced so far."""

    reads: int = 0
    payloads: int = 0
    duplicates: int = 0
    strays: int = 0
    lost_events: int = 0
    malformed: int = 0
    history: list[SimulatedRead] = field(default_factory=list, repr=False)


def population(count: int, *, seed: int = 0, gtin: str = "80614141123458", company_prefix_length: int = 7) -> list[str]:
    """`count` distinct SGTIN-96 EPCs (hex) of one product, serials drawn from a seeded generator."""
    serials = random.Random(seed).sample(range(1, 1 << 38), count)
    return [encode_sgtin96(gtin, serial, company_prefix_length) for serial in serials]


def zones(tags: Sequence[str], antennas: int) -> dict[int, list[str]]:
    """Split a population over antennas 1..n, round robin (one zone per antenna)."""
    split: dict[int, list[str]] = {a: [] for a in range(1, antennas + 1)}
    for index, epc in enumerate(tags):
        split[index % antennas + 1].append(epc)
    return split


def impinj_time(at: datetime) -> str:
    """Impinj style: UTC with nine fractional digits and Z."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def zebra_time(at: datetime) -> str:
    """Zebra IoT Connector style: milliseconds and a +0000 offset without a colon."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"


def gen2_pc(epc_hex: str) -> str:
    """The Gen2 protocol-control word for an EPC of this length (length in words in the top 5 bits)."""
    return f"{(len(epc_hex) // 4) << 11:04x}"


def gen2_crc(pc: str, epc_hex: str) -> str:
    """The Gen2 CRC-16 over PC + EPC, as Zebra reports it (poly 0x1021, preset 0xFFFF, inverted)."""
    crc = 0xFFFF
    for byte in bytes.fromhex(pc + epc_hex):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return f"{crc ^ 0xFFFF:04x}"


class PayloadFactory:
    """Deterministic payloads of one reader: `next_payloads()` yields what to publish next, in order."""

    def __init__(self, spec: ReaderSpec, *, keep_history: bool = False) -> None:
        self.spec = spec
        self.stats = FactoryStats()
        self._rng = random.Random(spec.seed)
        self._keep_history = keep_history
        self._antennas = sorted(a for a, tags in spec.tags_by_antenna.items() if tags)
        self._clock = spec.start
        self._step = timedelta(seconds=1.0 / spec.reads_per_second)
        self._event_num = 0

    @property
    def now(self) -> datetime:
        """The simulated true time."""
        return self._clock

    def next_payloads(self) -> list[bytes]:
        """The next payload, and sometimes a duplicate of it right behind."""
        events = [self._render(self._next_read()) for _ in range(self.spec.events_per_payload)]
        payload = self._encode(events)
        self.stats.payloads += 1
        if self._rng.random() < self.spec.duplicate_rate:
            self.stats.duplicates += 1
            return [payload, payload]
        return [payload]

    def lose(self, events: int) -> None:
        """Events the reader produced but nobody will receive: the clock and Zebra's eventNum move on."""
        self._event_num += events
        self._clock += self._step * events
        self.stats.lost_events += events

    def antenna_event(self, port: int, connected: bool) -> bytes:
        """Impinj antennaConnected / antennaDisconnected."""
        kind = "antennaConnected" if connected else "antennaDisconnected"
        return self._impinj_event(kind, {"antennaPort": port, "antennaName": f"Antenna {port}"})

    def inventory_status(self, status: str = "running") -> bytes:
        """Impinj inventoryStatus (running, idle, armed ...)."""
        return self._impinj_event("inventoryStatus", {"inventoryStatus": status})

    def overflow(self, dropped: int) -> bytes:
        """Impinj overflow: the reader purged `dropped` events past its eventPerSecondLimit."""
        return self._impinj_event("overflow", {"count": dropped})

    def malformed(self) -> bytes:
        """A payload a parser must reject: truncated JSON, or a tag event with a broken field."""
        self.stats.malformed += 1
        good = self._encode([self._render(self._next_read())])
        choice = self._rng.randrange(3)
        if choice == 0:
            return good[: max(1, len(good) // 2)]
        if self.spec.fmt == "impinj":
            broken = (b'"antennaPort":', b'"antennaPort":-') if choice == 1 else (b'"epcHex":"', b'"epcHex":"Z')
        else:
            broken = (b'"idHex":"', b'"idHex":"z') if choice == 1 else (b'"timestamp":"', b'"timestamp":"not-')
        return good.replace(*broken, 1)

    # -- internals -------------------------------------------------------------------------

    def _next_read(self) -> SimulatedRead:
        rng = self._rng
        antenna = rng.choice(self._antennas)
        stray = len(self._antennas) > 1 and rng.random() < self.spec.stray_rate
        home = rng.choice([a for a in self._antennas if a != antenna]) if stray else antenna
        epc = rng.choice(self.spec.tags_by_antenna[home])
        low, high = STRAY_RSSI_DBM if stray else HOME_RSSI_DBM
        self._clock += self._step
        self._event_num += 1
        seq = self._event_num if self.spec.fmt == "zebra" else None
        read = SimulatedRead(epc, antenna, round(rng.uniform(low, high), 1), self._clock, stray, seq)
        self.stats.reads += 1
        self.stats.strays += stray
        if self._keep_history:
            self.stats.history.append(read)
        return read

    def _reader_time(self, at: datetime) -> datetime:
        return at + timedelta(seconds=self.spec.clock_skew_s)

    def _render(self, read: SimulatedRead) -> dict[str, Any]:
        if self.spec.fmt == "impinj":
            return self._impinj_read(read)
        return self._zebra_read(read)

    def _impinj_read(self, read: SimulatedRead) -> dict[str, Any]:
        stamp = impinj_time(self._reader_time(read.true_at))
        body = {
            "epc": base64.b64encode(bytes.fromhex(read.epc)).decode(),
            "epcHex": read.epc,
            "pc": gen2_pc(read.epc),
            "antennaPort": read.antenna,
            "antennaName": f"Antenna {read.antenna}",
            "peakRssiCdbm": int(round(read.rssi_dbm * 100)),  # centi-dBm
            "frequency": self._rng.choice(IMPINJ_FREQUENCIES_KHZ),
            "transmitPowerCdbm": 3000,
            "lastSeenTime": stamp,
        }
        return {"timestamp": stamp, "hostname": self.spec.name, "eventType": "tagInventory", "tagInventoryEvent": body}

    def _zebra_read(self, read: SimulatedRead) -> dict[str, Any]:
        epc = read.epc.lower()  # Zebra reports lower-case idHex
        data: dict[str, Any]
        if self.spec.zebra_type == "CUSTOM":
            data = {"eventNum": read.seq, "format": "epc", "idHex": epc}
        else:
            pc = gen2_pc(epc)
            data = {
                "CRC": gen2_crc(pc, epc),
                "PC": pc,
                "antenna": read.antenna,
                "channel": self._rng.choice(ZEBRA_CHANNELS_MHZ),
                "eventNum": read.seq,
                "format": "epc",
                "hostName": self.spec.name,
                "idHex": epc,
                "peakRssi": int(round(read.rssi_dbm)),  # whole dBm
                "phase": 0.0,
                "reads": self._rng.randint(1, 9),
            }
        return {"data": data, "timestamp": zebra_time(self._reader_time(read.true_at)), "type": self.spec.zebra_type}

    def _impinj_event(self, kind: str, body: dict[str, Any]) -> bytes:
        if self.spec.fmt != "impinj":
            raise ValueError(f"{kind} events exist in the Impinj format only")
        stamp = impinj_time(self._reader_time(self._clock))
        return self._encode([{"timestamp": stamp, "hostname": self.spec.name, "eventType": kind, f"{kind}Event": body}])

    def _encode(self, events: list[dict[str, Any]]) -> bytes:
        document: Any = events if len(events) > 1 or self.spec.always_array else events[0]
        return json.dumps(document, separators=(",", ":")).encode()

"""The readers file (TOML): which readers exist, where they are, how to reach them, which antenna watches which zone."""

from __future__ import annotations

import tomllib
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fulfil.errors import InvalidInput
from rfid.zones import HOLD_OFF_MS, MOVE_MARGIN_DB, Layout, PortalConfig, ZoneConfig

# Serial dialects whose tag reports carry no antenna number.
PROTOCOLS_WITHOUT_ANTENNA = frozenset({"chafon18"})

ZoneKind = Literal["receiving", "backroom", "salesfloor", "exit-inner", "exit-outer", "pack-station"]
KINDS: tuple[str, ...] = ("receiving", "backroom", "salesfloor", "exit-inner", "exit-outer", "pack-station")


def zone_kind(name: str) -> str:
    """What a zone is for, from its name: `pack-station-2` is a pack station, `backroom` a backroom."""
    for kind in KINDS:
        if name == kind or name.startswith(kind + "-"):
            return kind
    raise ValueError(f"zone {name!r} is none of {', '.join(KINDS)} (a suffix such as -2 is allowed)")


def zone_key(location: str, zone: str) -> str:
    """Zones are per location: the smoothing engine knows them as `<location>/<zone>`."""
    return f"{location}/{zone}"


class ZoneTuning(BaseModel):
    model_config = ConfigDict(extra="forbid")

    arrival_reads: int | None = Field(default=None, ge=1)
    arrival_ms: int | None = Field(default=None, ge=0)
    departure_ms: int | None = Field(default=None, gt=0)
    rssi_floor_dbm: float | None = Field(default=None, ge=-120, le=0)


class ReaderSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128)
    location: str = Field(min_length=1, max_length=64)
    transport: Literal["mqtt", "serial", "http"]
    topic: str | None = Field(default=None, description="MQTT topic the reader publishes tag events to")
    status_topic: str | None = Field(default=None, description="MQTT topic of its will / birth messages")
    format: Literal["auto", "impinj", "zebra", "text"] = "auto"
    port: str | None = Field(default=None, description="pyserial URL: /dev/ttyUSB0, rfc2217://host:port, loop://")
    protocol: Literal["thingmagic", "chafon18", "chafon288", "r2000", "text"] | None = None
    baudrate: int | None = Field(default=None, gt=0, description="default: the protocol's usual rate")
    serial_number: str | None = Field(default=None, max_length=64, description="refuse reads from a reader reporting another serial number")
    antennas: dict[int, str] = Field(min_length=1, description="antenna port -> zone name")

    @model_validator(mode="after")
    def _transport_fields(self) -> ReaderSpec:
        if self.transport == "mqtt" and not self.topic:
            raise ValueError(f"reader {self.id}: an MQTT reader needs a topic")
        if self.transport == "serial" and not (self.port and self.protocol):
            raise ValueError(f"reader {self.id}: a serial reader needs a port and a protocol")
        for zone in self.antennas.values():
            zone_kind(zone)
        if self.protocol in PROTOCOLS_WITHOUT_ANTENNA and len(set(self.antennas.values())) > 1:
            raise ValueError(f"reader {self.id}: {self.protocol} readers do not say which antenna read a tag, so they can serve one zone only")
        return self

    def zone_without_antenna(self) -> str | None:
        """Where a read that names no antenna belongs: the reader's zone when it serves only one, else nowhere."""
        zones = set(self.antennas.values())
        return next(iter(zones)) if len(zones) == 1 else None


class IngestConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exit_policy: Literal["loss", "exit"] = Field(
        default="loss", description="A tag leaving outward without a sale: `loss` (shrink, tag missing) or `exit` (left on purpose)."
    )
    time_source: Literal["reader", "receipt"] = Field(
        default="receipt", description="Smooth on the reader's clock or on the time we received the read (reader clocks drift)."
    )
    hold_off_ms: int = Field(default=HOLD_OFF_MS, ge=0, description="How long a tag must look closer to another zone before it moves there.")
    move_margin_db: float = Field(default=MOVE_MARGIN_DB, ge=0, description="How much stronger the other zone must be heard.")
    share_group: str | None = Field(default=None, description="MQTT shared-subscription group, to split readers' load over workers.")
    parse_process: bool = Field(
        default=True, description="Decode MQTT payloads in a child process (a second core) while the worker smooths and commits."
    )
    client_id: str = Field(default="fulfil-ingest", min_length=1, description="Stable MQTT client id (the persistent session's key).")
    zones: dict[str, ZoneTuning] = Field(default_factory=dict, description="Tuning per zone name, in every location.")
    readers: list[ReaderSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> IngestConfig:
        ids = [r.id for r in self.readers]
        if len(ids) != len(set(ids)):
            raise ValueError("reader ids must be unique")
        topics = [r.topic for r in self.readers if r.topic]
        if len(topics) != len(set(topics)):
            raise ValueError("two readers publish on the same topic: the reader of a message would be ambiguous")
        return self

    def reader(self, reader_id: str) -> ReaderSpec | None:
        """The reader with this id."""
        return next((r for r in self.readers if r.id == reader_id), None)

    def zone_names(self) -> dict[str, tuple[str, str]]:
        """Every zone key -> (location, zone name)."""
        return {zone_key(r.location, z): (r.location, z) for r in self.readers for z in r.antennas.values()}

    def sole_readers(self) -> dict[str, str]:
        """Zone key -> the one reader serving it (the exit portal `<location>/exit` counts its two sides).

        A zone several readers serve is left out: a fact carries its zone, not the read that decided it,
        so its stock events name no reader rather than a wrong one."""
        served: dict[str, set[str]] = {}
        for r in self.readers:
            for zone in r.antennas.values():
                served.setdefault(zone_key(r.location, zone), set()).add(r.id)
                if zone_kind(zone) in ("exit-inner", "exit-outer"):
                    served.setdefault(zone_key(r.location, "exit"), set()).add(r.id)
        return {key: next(iter(ids)) for key, ids in served.items() if len(ids) == 1}

    def layout(self) -> Layout:
        """The smoothing layout: zones per location, antennas, and an exit portal where a location has both sides."""
        zones = self.zone_names()
        configs = []
        for key, (_loc, name) in sorted(zones.items()):
            tuning = self.zones.get(name, ZoneTuning()).model_dump(exclude_none=True)
            configs.append(ZoneConfig(key, **tuning))
        antennas: dict[tuple[str, int | None], str] = {
            (r.id, port): zone_key(r.location, zone) for r in self.readers for port, zone in r.antennas.items()
        }
        # Readers that report no antenna (Chafon UHFReader18, text lines without the column) serve one zone.
        antennas.update({(r.id, None): zone_key(r.location, zone) for r in self.readers if (zone := r.zone_without_antenna()) is not None})
        portals = [
            PortalConfig(zone_key(loc, "exit"), zone_key(loc, "exit-inner"), zone_key(loc, "exit-outer"))
            for loc in sorted({loc for loc, _ in zones.values()})
            if zone_key(loc, "exit-inner") in zones and zone_key(loc, "exit-outer") in zones
        ]
        return Layout.build(configs, antennas, portals)

    def locations(self) -> set[str]:
        """Locations that have readers."""
        return {r.location for r in self.readers}

    def partition(self, index: int, count: int) -> IngestConfig:
        """The readers of partition `index` of `count` (1-based): whole locations, by a stable hash of their id, so every
        zone of a location (a portal's two sides included) is smoothed in one process; the MQTT client id gets the
        partition (each partition keeps its own persistent session). ValueError when out of range or empty."""
        if not 1 <= index <= count:
            raise ValueError(f"partition {index}/{count}: the index must be between 1 and {count}")
        if count == 1:
            return self
        readers = [r for r in self.readers if partition_of(r.location, count) == index]
        if not readers:
            raise ValueError(f"partition {index}/{count} holds no reader: {len(self.locations())} location(s) over {count} partitions")
        return self.model_copy(update={"readers": readers, "client_id": f"{self.client_id}-p{index}of{count}"})


def partition_of(location_id: str, count: int) -> int:
    """The partition (1-based) a location's readers belong to among `count`: the same in every process and release."""
    return zlib.crc32(location_id.encode()) % count + 1


def parse_config(text: str, source: str = "readers file") -> IngestConfig:
    """Validate a readers file; the error names the field that is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{source}: not valid TOML: {exc}") from None
    try:
        return IngestConfig.model_validate(data)
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        raise InvalidInput(f"{source}: " + "; ".join(f"{p['field']}: {p['message']}" for p in problems), details=problems) from None


def load_config(path: Path) -> IngestConfig:
    """Read and validate a readers file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read readers file {path}: {exc.strerror}") from None
    return parse_config(text, str(path))


def unknown_locations(config: IngestConfig, known: Iterable[str]) -> set[str]:
    """Reader locations the database does not know."""
    return config.locations() - set(known)

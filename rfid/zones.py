"""Where reads happen: zones with their smoothing settings, antenna -> zone mapping, portals.

Timings are named module constants (milliseconds) so tests and deployments can
shorten or lengthen them; each zone may override them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# A tag has arrived in a zone after this many reads there ...
ARRIVAL_READS = 3
# ... or once this long has passed between its first and latest read there (slow, sparse readers).
ARRIVAL_MS = 1_000
# A tag has departed a zone after this long without a read there.
DEPARTURE_MS = 5_000
# Another zone must out-score the tag's current zone for this long before the tag is moved.
HOLD_OFF_MS = 2_000
# Time constant of the RSSI weighting: a read's weight falls to 1/e after this long.
RSSI_TAU_MS = 2_000
# A challenger zone must be this much stronger (time-weighted) than the current zone to count as better.
MOVE_MARGIN_DB = 3.0
# RSSI assumed for reads from readers that report none (text readers).
DEFAULT_RSSI_DBM = -60.0
# A portal passage is concluded after this long without a read at either of its zones.
PORTAL_SILENCE_MS = 1_500


class LayoutError(ValueError):
    """A layout that refers to unknown zones or uses a zone twice."""


@dataclass(frozen=True, slots=True)
class ZoneConfig:
    """A named zone and its smoothing settings."""

    name: str
    arrival_reads: int = ARRIVAL_READS
    arrival_ms: int = ARRIVAL_MS
    departure_ms: int = DEPARTURE_MS
    rssi_floor_dbm: float | None = None  # reads weaker than this are ignored (stray reads from next door)


@dataclass(frozen=True, slots=True)
class PortalConfig:
    """A doorway watched by an inner and an outer zone; crossing inner -> outer is going `out`."""

    name: str
    inner: str
    outer: str
    silence_ms: int = PORTAL_SILENCE_MS


# (reader id, antenna port) -> zone name; antenna None maps every antenna of the reader not listed.
AntennaKey = tuple[str | None, int | None]


@dataclass(frozen=True)
class Layout:
    """The zones, the antenna -> zone map and the portals of one site."""

    zones: tuple[ZoneConfig, ...]
    antennas: Mapping[AntennaKey, str]
    portals: tuple[PortalConfig, ...] = ()
    _by_name: dict[str, ZoneConfig] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, ZoneConfig] = {}
        for zone in self.zones:
            if zone.name in by_name:
                raise LayoutError(f"zone {zone.name!r} is defined twice")
            if zone.arrival_reads < 1 or zone.arrival_ms < 0 or zone.departure_ms <= 0:
                raise LayoutError(f"zone {zone.name!r}: arrival_reads >= 1, arrival_ms >= 0 and departure_ms > 0")
            by_name[zone.name] = zone
        for key, name in self.antennas.items():
            if name not in by_name:
                raise LayoutError(f"antenna {key!r} maps to unknown zone {name!r}")
        seen: set[str] = set()
        for portal in self.portals:
            for name in (portal.inner, portal.outer):
                if name not in by_name:
                    raise LayoutError(f"portal {portal.name!r} uses unknown zone {name!r}")
                if name in seen:
                    raise LayoutError(f"zone {name!r} belongs to two portals (or is both sides of one)")
                seen.add(name)
        object.__setattr__(self, "_by_name", by_name)

    @classmethod
    def build(
        cls,
        zones: Iterable[ZoneConfig | str],
        antennas: Mapping[AntennaKey, str],
        portals: Iterable[PortalConfig] = (),
    ) -> Layout:
        """A layout from zone configs (or bare names, with default settings), antennas and portals."""
        configs = tuple(z if isinstance(z, ZoneConfig) else ZoneConfig(z) for z in zones)
        return cls(configs, dict(antennas), tuple(portals))

    def zone(self, name: str) -> ZoneConfig:
        """The configuration of a zone by name (KeyError if unknown)."""
        return self._by_name[name]

    def zone_of(self, reader: str | None, antenna: int | None) -> str | None:
        """The zone a read on this reader's antenna belongs to, or None if it is not mapped."""
        name = self.antennas.get((reader, antenna))
        return name if name is not None else self.antennas.get((reader, None))

    def zones_of_reader(self, reader: str | None) -> frozenset[str]:
        """Every zone served (at least partly) by a reader."""
        return frozenset(name for (r, _), name in self.antennas.items() if r == reader)

    def portal_zones(self) -> frozenset[str]:
        """Zones that belong to a portal (tracked for direction, not for placement)."""
        return frozenset(name for p in self.portals for name in (p.inner, p.outer))

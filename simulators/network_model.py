"""What the demo network's simulation is made of (simulators.network_sim): the places, the simulated people's
behaviour, their credentials, the orders they placed, the tally of what they did, and the timings of the readers'
world."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from simulators.network_readers import ANTENNAS, PACK_PORTS


@dataclass(frozen=True)
class Worker:
    """A picker at a location, with the pack station that is theirs."""

    location: str
    number: int

    @property
    def key(self) -> str:
        return f"{self.location}#{self.number}"

    @property
    def port(self) -> int:
        return PACK_PORTS[self.number - 1]

    @property
    def station(self) -> str:
        return ANTENNAS[self.port]


SIGHTING_TICKS = 8  # a carton or a parcel is read at the dock for 2 s; a person takes 1 s per side of the portal
PORTAL_TICKS = 4
PEOPLE_TAG = "FOR-YOU-"  # in the external id of the order placed for people (`SIM-<start>-FOR-YOU-<n>`)
SHELVING_WALL_S = 3.0  # after the dock's last read of a carton, before its items can be picked or sold
TABLE_CLEAR_WALL_S = 2.5  # the pack station's tags depart after 1.5 s of silence (the demo's readers file)
VERIFY_WAIT_S = 20.0  # wall-clock seconds a packer waits for the pack station's verdict before closing by hand
SOURCE_SERIAL_BASE = 500_000_000  # serials of source-tagged units (tagged by the brand, never read at a dock)


@dataclass(frozen=True)
class Place:
    """A location of the network as the simulation knows it."""

    id: str
    kind: str  # "store" or "warehouse"
    lat: float
    lon: float
    name: str = ""


@dataclass(frozen=True)
class Behaviour:
    """How the simulated people behave (times are simulated)."""

    orders_per_hour: float = 90.0
    mix: tuple[tuple[str, float], ...] = (("home", 0.5), ("collect", 0.25), ("curbside", 0.1), ("endless_aisle", 0.15))
    store_seconds_per_unit: tuple[float, float] = (20.0, 45.0)
    warehouse_seconds_per_unit: tuple[float, float] = (8.0, 20.0)
    packing_seconds: tuple[float, float] = (40.0, 90.0)
    idle_poll_seconds: float = 60.0
    short_pick_rate: float = 0.03  # per line: the units are not on the shelf
    collect_on_time: float = 0.75  # the rest: late (a share of it) or never
    collect_late: float = 0.15
    collect_minutes: tuple[float, float] = (5.0, 40.0)
    late_hours: tuple[float, float] = (26.0, 60.0)
    curbside_handover_minutes: tuple[float, float] = (1.0, 4.0)
    return_rate: float = 0.25  # of collected orders (the first, then every 4th): an item returned in another store
    return_minutes: tuple[float, float] = (5.0, 25.0)
    delivered_days: tuple[float, float] = (1.0, 2.0)  # home deliveries reach the customer
    home_return_rate: float = 0.1
    transit_hours: tuple[float, float] = (2.0, 6.0)  # ship-to-store parcels between locations
    carton_every_hours: float = 2.0
    carton_tags: dict[str, int] = field(default_factory=lambda: {"store": 12, "warehouse": 40})
    walk_in_sales_per_store_hour: float = 2.0
    shoplifts_per_store_hour: float = 0.1
    workers: dict[str, int] = field(default_factory=lambda: {"store": 2, "warehouse": 3})  # pickers, each with a pack station
    # picks there wait `people_grace_minutes` for a person before a simulated picker takes them, and pack-station-1 is
    # left to people (the simulated pickers there use the next stations)
    people_store: str | None = None  # picks there wait `people_grace_minutes` for a person before a simulated picker takes them
    people_grace_minutes: float = 10.0


@dataclass
class Credentials:
    """Bearer tokens: ops (the customer's inbox, returns counter lookups), channel (the web shop), one picker per
    location (the handheld), and how to sign a picker in again when a session ended."""

    ops: str
    channel: str
    pickers: dict[str, str]
    sign_in: Callable[[str], str] | None = None


@dataclass
class PlacedOrder:
    id: int
    external_id: str
    kind: str
    pickup: str | None
    home: tuple[float, float] | None
    origin: str | None = None


@dataclass
class Tally:
    """What the simulated people did, and what the service answered."""

    counts: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)  # 4xx answers by `path-kind status code`
    server_errors: int = 0
    transport_errors: int = 0
    max_lag_s: float = 0.0

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] += n


def km(a: Place, b: Place) -> float:
    """Great-circle distance."""
    la1, lo1, la2, lo2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 12742.0 * math.asin(math.sqrt(min(1.0, h)))

"""Plain dataclasses for a routing instance and a routing plan (see docs/formats/routing.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from routing.limits import check_instance, check_location, check_stock

INSTANCE_FORMAT = "fulfil.routing-instance/1"
PLAN_FORMAT = "fulfil.routing-plan/1"


@dataclass(frozen=True, slots=True)
class Params:
    """Cost parameters of one instance."""

    parcel_base_cost: float
    cost_per_km: float
    split_penalty: float
    unfilled_penalty: float
    # (km_max or None for "no limit", days), in order; the first pair that fits wins.
    transit_days: tuple[tuple[float | None, int], ...]


@dataclass(frozen=True, slots=True)
class Location:
    """A warehouse or a store that can prepare parcels."""

    id: str
    kind: str
    lat: float
    lon: float
    capacity: int | None
    pick_cost_per_unit: float
    handling_days: int


@dataclass(frozen=True, slots=True)
class StockItem:
    """What one location holds of one sku; `safety` is held back for walk-in customers."""

    location: str
    sku: str
    on_hand: int
    safety: int = 0

    @property
    def available(self) -> int:
        """Units the router may use: max(0, on_hand - safety)."""
        return max(0, self.on_hand - self.safety)


@dataclass(frozen=True, slots=True)
class OrderLine:
    """A sku and a positive quantity."""

    sku: str
    qty: int


@dataclass(frozen=True, slots=True)
class Order:
    """An open order: home delivery (`ship_to`) or click and collect (`pickup_at`)."""

    id: str
    channel: str
    lines: tuple[OrderLine, ...]
    ship_to: tuple[float, float] | None = None
    pickup_at: str | None = None
    promise_days: int | None = None
    # Optional extension: locations this order must not be served from (e.g. a store rejected it).
    exclude_locations: frozenset[str] = frozenset()
    # Not part of the file format: parcels this order already has outside the instance
    # (re-optimisation keeps started shipments), so every new parcel pays the split penalty.
    existing_shipments: int = 0

    def demand(self) -> dict[str, int]:
        """Units wanted per sku (repeated skus merged), in first-seen order."""
        wanted: dict[str, int] = {}
        for line in self.lines:
            wanted[line.sku] = wanted.get(line.sku, 0) + line.qty
        return wanted


@dataclass(frozen=True, slots=True)
class Instance:
    """Everything the router needs: parameters, locations, stock, open orders.

    Every number is checked when the instance is built (routing/limits.py): a non-finite or absurd
    one raises InvalidInstance naming the field, e.g. `locations[3].pick_cost_per_unit`.
    """

    params: Params
    locations: tuple[Location, ...]
    stock: tuple[StockItem, ...]
    orders: tuple[Order, ...]

    def __post_init__(self) -> None:
        check_instance(self)

    def restocked(self, changed: dict[int, Location], stock: tuple[StockItem, ...]) -> Instance:
        """This instance with some locations replaced (index -> location) and other stock, checking only what is new:
        the rest was checked when this instance was built."""
        for i, location in changed.items():
            check_location(location, f"locations[{i}]")
        for i, item in enumerate(stock):
            check_stock(item, f"stock[{i}]")
        locations = self.locations
        if changed:
            as_list = list(locations)
            for i, location in changed.items():
                as_list[i] = location
            locations = tuple(as_list)
        other = object.__new__(Instance)
        for name, value in (("params", self.params), ("locations", locations), ("stock", stock), ("orders", self.orders)):
            object.__setattr__(other, name, value)
        return other


@dataclass(frozen=True, slots=True)
class ShipmentLine:
    """One sku and quantity inside a parcel."""

    sku: str
    qty: int


@dataclass(frozen=True, slots=True)
class Shipment:
    """One parcel: one order, one location, one or more (sku, qty)."""

    order: str
    location: str
    lines: tuple[ShipmentLine, ...]
    cost: float = 0.0
    delivery_days: int = 0

    @property
    def units(self) -> int:
        """Units in the parcel."""
        return sum(line.qty for line in self.lines)


@dataclass(frozen=True, slots=True)
class Unfilled:
    """Units of one order line that no shipment covers."""

    order: str
    sku: str
    qty: int


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """Total cost and its four parts."""

    total: float
    shipping: float
    picking: float
    split: float
    unfilled: float


@dataclass(frozen=True, slots=True)
class SolverInfo:
    """Which solver produced a plan, how long it took and how it ended."""

    name: str
    seconds: float
    status: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Plan:
    """The router's answer for one instance."""

    shipments: tuple[Shipment, ...]
    unfilled: tuple[Unfilled, ...]
    cost: CostBreakdown
    lower_bound: float | None = None
    solver: SolverInfo | None = None
    explanations: dict[str, dict[str, Any]] | None = None

"""The numbers a routing instance may hold: finite and within sane ranges, in one place.

Both ways into the library use these rules: the formats check each number as they read it, and
`Instance` checks every number of an instance built in code (the service builds its own). A number
outside them (`Infinity`, `1e308`, a negative cost) is refused with an `InvalidInstance` naming the
field by its JSON path, e.g. `locations[3].pick_cost_per_unit: must be finite`, instead of sending
the solvers into overflow (an LP abandoned, an order moved to the location that costs infinity).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from routing.errors import InvalidDocument, InvalidInstance

if TYPE_CHECKING:
    from routing.model import Instance, Location, Order, Params, StockItem

# Money: a parcel's base cost, a unit's picking, a split, an unfilled unit. Real values are a few euros
# (250 for an unfilled unit); a million leaves room for any currency without overflowing CP-SAT's
# scaled integer objective (routing/mip.py).
MAX_MONEY = 1_000_000.0
# Per km of great-circle distance (0.012 in the demo): a parcel from the far side of the Earth
# (20,015 km) then costs at most about 2e7.
MAX_COST_PER_KM = 1_000.0
# A transit limit beyond 2.5 times round the Earth is not a limit: write null ("no limit").
MAX_KM = 100_000.0
# Handling, transit and promise days: ten years.
MAX_DAYS = 3_650
# Units on hand, held back, ordered, parcels a location can prepare: what a 32-bit column holds.
MAX_UNITS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Range:
    """The closed interval a number must lie in."""

    low: float
    high: float

    def describe(self) -> str:
        """`between 0 and 1,000,000`, `>= 0` or `<= 3` for messages."""
        if math.isinf(self.high):
            return f">= {_show(self.low)}"
        if math.isinf(self.low):
            return f"<= {_show(self.high)}"
        return f"between {_show(self.low)} and {_show(self.high)}"


def _show(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:,}"


ANY = Range(-math.inf, math.inf)
LAT = Range(-90.0, 90.0)
LON = Range(-180.0, 180.0)
MONEY = Range(0.0, MAX_MONEY)
COST_PER_KM = Range(0.0, MAX_COST_PER_KM)
KM = Range(0.0, MAX_KM)
DAYS = Range(0, MAX_DAYS)
UNITS = Range(0, MAX_UNITS)
QTY = Range(1, MAX_UNITS)


def number(value: Any, path: str, allowed: Range = ANY, error: type[InvalidDocument] = InvalidInstance) -> float:
    """`value` as a float if it is a finite real number in `allowed`; else `error` naming `path`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise error(path, "must be a number")
    x = float(value)
    if not math.isfinite(x):
        raise error(path, "must be finite")
    if not allowed.low <= x <= allowed.high:
        raise error(path, f"must be {allowed.describe()}")
    return x


def integer(value: Any, path: str, allowed: Range, error: type[InvalidDocument] = InvalidInstance) -> int:
    """`value` as an int if it is a whole number in `allowed` (2.0 counts as 2); else `error` naming `path`."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise error(path, "must be finite")
        if value.is_integer():
            value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise error(path, "must be an integer")
    n = int(value)
    if not allowed.low <= n <= allowed.high:
        raise error(path, f"must be {allowed.describe()}")
    return n


def transit_table(pairs: Any, path: str = "params.transit_days") -> tuple[tuple[float | None, int], ...]:
    """A checked transit table: [km_max or None, days] pairs, km_max not decreasing, None only last."""
    if not isinstance(pairs, (list, tuple)) or not pairs:
        raise InvalidInstance(path, "must be a non-empty list of [km_max, days] pairs")
    table: list[tuple[float | None, int]] = []
    for i, pair in enumerate(pairs):
        here = f"{path}[{i}]"
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise InvalidInstance(here, "must be a [km_max, days] pair")
        if table and table[-1][0] is None:
            raise InvalidInstance(here, "follows a pair without limit")
        km = None if pair[0] is None else number(pair[0], here + "[0]", KM)
        if km is not None and table and km < (table[-1][0] or 0.0):
            raise InvalidInstance(here + "[0]", "km_max must not decrease")
        table.append((km, integer(pair[1], here + "[1]", DAYS)))
    return tuple(table)


def check_params(params: Params, path: str = "params") -> None:
    """Every number of the cost parameters, and the shape of the transit table."""
    number(params.parcel_base_cost, path + ".parcel_base_cost", MONEY)
    number(params.cost_per_km, path + ".cost_per_km", COST_PER_KM)
    number(params.split_penalty, path + ".split_penalty", MONEY)
    number(params.unfilled_penalty, path + ".unfilled_penalty", MONEY)
    transit_table(params.transit_days, path + ".transit_days")


def _fine(value: Any, allowed: Range) -> bool:
    """The common case, cheaply: a plain float or int within range (NaN and infinities fail the comparison; bool is
    not int here). Anything else takes the checks that name the field."""
    return type(value) in (float, int) and allowed.low <= value <= allowed.high


def check_location(location: Location, path: str) -> None:
    """Coordinates, capacity, picking cost and handling days of one location."""
    if (
        _fine(location.lat, LAT) and _fine(location.lon, LON) and (location.capacity is None or (type(location.capacity) is int and _fine(location.capacity, UNITS)))
        and _fine(location.pick_cost_per_unit, MONEY) and type(location.handling_days) is int and _fine(location.handling_days, DAYS)
    ):
        return
    number(location.lat, path + ".lat", LAT)
    number(location.lon, path + ".lon", LON)
    if location.capacity is not None:
        integer(location.capacity, path + ".capacity", UNITS)
    number(location.pick_cost_per_unit, path + ".pick_cost_per_unit", MONEY)
    integer(location.handling_days, path + ".handling_days", DAYS)


def check_stock(item: StockItem, path: str) -> None:
    """On hand and safety stock of one (location, sku)."""
    if type(item.on_hand) is int and type(item.safety) is int and _fine(item.on_hand, UNITS) and _fine(item.safety, UNITS):
        return
    integer(item.on_hand, path + ".on_hand", UNITS)
    integer(item.safety, path + ".safety", UNITS)


def check_order(order: Order, path: str) -> None:
    """Destination, quantities, promise and kept parcels of one order."""
    if order.ship_to is not None:
        if not isinstance(order.ship_to, (tuple, list)) or len(order.ship_to) != 2:
            raise InvalidInstance(path + ".ship_to", "must be a (lat, lon) pair")
        number(order.ship_to[0], path + ".ship_to.lat", LAT)
        number(order.ship_to[1], path + ".ship_to.lon", LON)
    for j, line in enumerate(order.lines):
        integer(line.qty, f"{path}.lines[{j}].qty", QTY)
    if order.promise_days is not None:
        integer(order.promise_days, path + ".promise_days", DAYS)
    integer(order.existing_shipments, path + ".existing_shipments", UNITS)


def check_instance(instance: Instance) -> None:
    """Every number of an instance, each error naming its field the way the file format does."""
    check_params(instance.params)
    for i, location in enumerate(instance.locations):
        check_location(location, f"locations[{i}]")
    for i, item in enumerate(instance.stock):
        check_stock(item, f"stock[{i}]")
    for i, order in enumerate(instance.orders):
        check_order(order, f"orders[{i}]")

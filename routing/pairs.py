"""Every feasible order-location pair of a network as numpy arrays: what the LP prices in one vectorised pass.

One row per pair (an order and a location in time, not excluded, holding at least one of its skus) and one
entry per (pair, sku the location holds), so 1.9 M pairs cost tens of MB, not Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from routing.cost import destination, haversine_km, transit_days
from routing.network import Network

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Rows:
    """The rows of the batch model that exist whatever the pairs: order lines, stock entries, capacities."""

    line_order: IntArray      # order of each demand line (an order's merged sku)
    line_sku: list[str]
    line_qty: IntArray
    stock_loc: IntArray       # one entry per (location, sku) with usable units, sorted by (sku, location)
    stock_sku: list[str]
    stock_avail: IntArray
    stock_index: dict[tuple[int, str], int]
    order_lines: IntArray     # first demand line of each order (length orders + 1)


@dataclass(frozen=True)
class PairTable:
    """Feasible pairs sorted by (order, location) and their per-sku entries sorted by pair."""

    rows: Rows
    order: IntArray
    loc: IntArray
    parcel: FloatArray
    order_start: IntArray     # pairs of order o are [order_start[o], order_start[o+1])
    entry_pair: IntArray
    entry_line: IntArray
    entry_stock: IntArray
    entry_m: IntArray         # units the location can give of that line: min(qty, usable stock)
    pair_entries: IntArray    # entries of pair p are [pair_entries[p], pair_entries[p+1])
    covered: IntArray         # units the pair can give in all

    @property
    def size(self) -> int:
        """Number of pairs."""
        return int(self.order.shape[0])


def model_rows(net: Network) -> Rows:
    """Demand lines and stock entries of a network, indexed."""
    line_order: list[int] = []
    line_sku: list[str] = []
    line_qty: list[int] = []
    starts = [0]
    for o, od in enumerate(net.orders):
        for sku, q in od.demand.items():
            line_order.append(o)
            line_sku.append(sku)
            line_qty.append(q)
        starts.append(len(line_sku))
    keys = sorted(net.avail, key=lambda k: (k[1], k[0]))
    return Rows(
        line_order=np.asarray(line_order, dtype=np.int64),
        line_sku=line_sku,
        line_qty=np.asarray(line_qty, dtype=np.int64),
        stock_loc=np.asarray([k[0] for k in keys], dtype=np.int64),
        stock_sku=[k[1] for k in keys],
        stock_avail=np.asarray([net.avail[k] for k in keys], dtype=np.int64),
        stock_index={k: i for i, k in enumerate(keys)},
        order_lines=np.asarray(starts, dtype=np.int64),
    )


def build_pairs(net: Network) -> PairTable:
    """All feasible pairs of `net`, computed with numpy from its stock, demand and locations.

    The same pairs as `Network.compile` lists per order (the cost model's functions on arrays), without
    building a Python object per pair.
    """
    rows = model_rows(net)
    sku_ids: dict[str, int] = {}
    for s in rows.stock_sku:
        sku_ids.setdefault(s, len(sku_ids))
    st_sku = np.asarray([sku_ids[s] for s in rows.stock_sku], dtype=np.int64)
    ln_sku = np.asarray([sku_ids.get(s, -1) for s in rows.line_sku], dtype=np.int64)
    # Stock entries are sorted by sku: each line meets the contiguous run of its sku's holders.
    first = np.searchsorted(st_sku, ln_sku, side="left")
    last = np.searchsorted(st_sku, ln_sku, side="right")
    last = np.where(ln_sku < 0, first, last)
    counts = last - first
    e_line = np.repeat(np.arange(ln_sku.shape[0], dtype=np.int64), counts)
    offsets = np.arange(e_line.shape[0], dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    e_stock = np.repeat(first, counts) + offsets
    e_order = rows.line_order[e_line]
    e_loc = rows.stock_loc[e_stock]
    n_loc = len(net.locations)
    key = e_order * n_loc + e_loc
    order_e = np.lexsort((e_line, key))
    e_line, e_stock, e_order, e_loc, key = e_line[order_e], e_stock[order_e], e_order[order_e], e_loc[order_e], key[order_e]
    pair_key, e_pair = np.unique(key, return_inverse=True)
    p_order = pair_key // n_loc
    p_loc = pair_key % n_loc
    parcel, days = _legs(net, p_order, p_loc)
    promise = np.asarray([-1 if od.order.promise_days is None else od.order.promise_days for od in net.orders],
                         dtype=np.int64)
    keep = (promise[p_order] < 0) | (days <= promise[p_order])
    for o, od in enumerate(net.orders):
        for loc_id in od.order.exclude_locations:
            loc = net.index.get(loc_id)
            if loc is not None:
                hit = np.searchsorted(pair_key, o * n_loc + loc)
                if hit < pair_key.shape[0] and pair_key[hit] == o * n_loc + loc:
                    keep[hit] = False
    new_index = np.cumsum(keep) - 1
    e_keep = keep[e_pair]
    e_pair = new_index[e_pair[e_keep]]
    e_line, e_stock = e_line[e_keep], e_stock[e_keep]
    p_order, p_loc, parcel = p_order[keep], p_loc[keep], parcel[keep]
    m = np.minimum(rows.line_qty[e_line], rows.stock_avail[e_stock])
    n_pairs = p_order.shape[0]
    pair_entries = np.searchsorted(e_pair, np.arange(n_pairs + 1, dtype=np.int64))
    covered = np.bincount(e_pair, weights=m, minlength=n_pairs).astype(np.int64)
    order_start = np.searchsorted(p_order, np.arange(len(net.orders) + 1, dtype=np.int64))
    return PairTable(rows, p_order, p_loc, parcel, order_start, e_pair, e_line, e_stock, m, pair_entries, covered)


def _legs(net: Network, p_order: IntArray, p_loc: IntArray) -> tuple[FloatArray, IntArray]:
    """Parcel cost and delivery days of every pair (the vectorised `cost.leg`)."""
    dest = np.asarray([destination(od.order, net.by_id) for od in net.orders], dtype=np.float64).reshape(-1, 2)
    km = haversine_km(net.lat[p_loc], net.lon[p_loc], dest[p_order, 0], dest[p_order, 1])
    p = net.params
    parcel = p.parcel_base_cost + p.cost_per_km * km
    days = net.handling[p_loc] + transit_days(p, km)
    pickup = np.asarray([-1 if od.order.pickup_at is None else net.index.get(od.order.pickup_at, -1)
                         for od in net.orders], dtype=np.int64)
    own = pickup[p_order] == p_loc
    parcel[own] = 0.0
    days[own] = net.handling[p_loc[own]]
    return parcel, days

"""Benchmark instances from a generator of their own, unlike routing/generate.py (the tests'): so the optimiser is not
tuned to the instances it is measured on.

German-like geography (random population clusters), log-normal cluster sizes, Zipf(1.1) sku popularity, a
geometric number of lines per order, 1-day promises, sparse store ranges and other cost parameters.
"""

from __future__ import annotations

import math

import numpy as np

from routing.model import Instance, Location, Order, OrderLine, Params, StockItem

PARAMS = Params(5.00, 0.010, 3.00, 200.0, ((200.0, 1), (500.0, 2), (None, 3)))
LAT, LON = (47.5, 54.5), (6.0, 15.0)


def benchmark_instance(orders: int, locations: int, seed: int) -> Instance:
    """A reproducible instance of `orders` orders and `locations` locations (about 1% warehouses)."""
    rng = np.random.default_rng(seed)
    n_clusters = max(5, min(60, locations // 10))
    centres = np.column_stack((rng.uniform(*LAT, n_clusters), rng.uniform(*LON, n_clusters)))
    weight = rng.lognormal(0.0, 1.0, n_clusters)
    weight /= weight.sum()

    def near(cluster: int, km: float) -> tuple[float, float]:
        lat = centres[cluster, 0] + rng.normal(0.0, km) / 111.0
        lon = centres[cluster, 1] + rng.normal(0.0, km) / (111.0 * math.cos(math.radians(lat)))
        return round(float(lat), 5), round(float(lon), 5)

    n_wh = max(2, locations // 100)
    locs: list[Location] = []
    for i in range(locations):
        c = int(rng.choice(n_clusters, p=weight))
        lat, lon = near(c, 25.0 if i < n_wh else 8.0)
        if i < n_wh:
            locs.append(Location(f"WH-{i:03d}", "warehouse", lat, lon, None, 0.35, 1))
        else:
            locs.append(Location(f"S-{i:05d}", "store", lat, lon, int(rng.integers(5, 26)),
                                 round(float(rng.uniform(0.9, 1.6)), 2), 0))
    stores = [loc for loc in locs if loc.kind == "store"]
    n_skus = max(40, orders // 3)
    skus = [f"40{k:011d}" for k in range(n_skus)]
    popularity = 1.0 / np.arange(1, n_skus + 1) ** 1.1
    popularity /= popularity.sum()
    demand = np.zeros(n_skus)
    order_list: list[Order] = []
    for i in range(orders):
        n_lines = min(5, int(rng.geometric(0.6)))
        picked = sorted(set(int(k) for k in rng.choice(n_skus, size=n_lines, p=popularity)))
        qty = {k: int(rng.choice((1, 2, 3, 4), p=(0.80, 0.15, 0.04, 0.01))) for k in picked}
        for k, q in qty.items():
            demand[k] += q
        lines = tuple(OrderLine(skus[k], q) for k, q in qty.items())
        promise = [None, 1, 2, 3][int(rng.choice(4, p=(0.35, 0.10, 0.35, 0.20)))]
        if stores and rng.random() < 0.10:
            store = stores[int(rng.integers(len(stores)))]
            order_list.append(Order(f"P{i:07d}", "store", lines, pickup_at=store.id, promise_days=promise))
        else:
            c = int(rng.choice(n_clusters, p=weight))
            order_list.append(Order(f"O{i:07d}", "web", lines, ship_to=near(c, 30.0), promise_days=promise))
    stock: list[StockItem] = []
    for w in locs[:n_wh]:
        held = rng.normal(1.2 * demand / n_wh, 0.25 * demand / n_wh + 0.5)
        for k in np.flatnonzero(held >= 0.5):
            stock.append(StockItem(w.id, skus[int(k)], int(round(float(held[k]))), 0))
    # Stores range a flatter mix than demand (popularity ** 0.5): popular skus are not in every store.
    ranging = np.sqrt(popularity)
    ranging /= ranging.sum()
    for s in stores:
        ranged = sorted(set(int(k) for k in rng.choice(n_skus, size=int(rng.integers(15, 41)), p=ranging)))
        for k in ranged:
            stock.append(StockItem(s.id, skus[k], int(rng.integers(1, 6)), int(rng.choice((0, 1, 1, 2)))))
    return Instance(PARAMS, tuple(locs), tuple(stock), tuple(order_list))

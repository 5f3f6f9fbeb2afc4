"""Realistic random instances: French population centres, Zipf-skewed demand and stock, stores and warehouses."""

from __future__ import annotations

import math
import random

from routing.model import Instance, Location, Order, OrderLine, Params, StockItem

# (name, lat, lon, metropolitan population in thousands), rounded public figures.
CITIES: tuple[tuple[str, float, float, int], ...] = (
    ("PARIS", 48.857, 2.352, 12400), ("LYON", 45.764, 4.836, 2300), ("MARSEILLE", 43.297, 5.381, 1900),
    ("TOULOUSE", 43.605, 1.444, 1400), ("LILLE", 50.629, 3.057, 1500), ("BORDEAUX", 44.838, -0.579, 1300),
    ("NICE", 43.710, 7.262, 1000), ("NANTES", 47.218, -1.554, 1000), ("STRASBOURG", 48.573, 7.752, 800),
    ("MONTPELLIER", 43.611, 3.877, 800), ("RENNES", 48.117, -1.678, 750), ("GRENOBLE", 45.188, 5.724, 700),
    ("ROUEN", 49.443, 1.099, 670), ("TOULON", 43.125, 5.930, 630), ("NANCY", 48.692, 6.184, 510),
    ("CLERMONT", 45.778, 3.087, 500), ("METZ", 49.119, 6.176, 400), ("TOURS", 47.394, 0.685, 500),
    ("ORLEANS", 47.903, 1.909, 450), ("DIJON", 47.322, 5.041, 390), ("ANGERS", 47.478, -0.563, 430),
    ("BREST", 48.390, -4.486, 320), ("REIMS", 49.258, 4.032, 300), ("LE-MANS", 48.006, 0.199, 350),
    ("CAEN", 49.183, -0.371, 470), ("AMIENS", 49.894, 2.296, 300), ("LIMOGES", 45.834, 1.261, 290),
    ("PERPIGNAN", 42.699, 2.895, 330), ("BESANCON", 47.238, 6.024, 280), ("POITIERS", 46.580, 0.340, 260),
    ("PAU", 43.295, -0.371, 320), ("BAYONNE", 43.493, -1.475, 310), ("LA-ROCHELLE", 46.160, -1.151, 230),
    ("AVIGNON", 43.949, 4.806, 530), ("SAINT-ETIENNE", 45.440, 4.387, 520), ("MULHOUSE", 47.750, 7.336, 290),
)
# Warehouse sites, in the order they are opened as the network grows.
HUBS = ("PARIS", "LYON", "BORDEAUX", "LILLE", "MARSEILLE", "NANTES", "TOULOUSE", "STRASBOURG")

DEFAULT_PARAMS = Params(4.50, 0.012, 2.00, 250.0, ((150.0, 1), (600.0, 2), (None, 3)))


def _zipf_weights(n: int, s: float) -> list[float]:
    return [1.0 / (k + 1) ** s for k in range(n)]


def _jitter(rng: random.Random, lat: float, lon: float, km: float) -> tuple[float, float]:
    """A point around (lat, lon), normal with `km` standard deviation."""
    dlat = rng.gauss(0.0, km) / 111.0
    dlon = rng.gauss(0.0, km) / (111.0 * math.cos(math.radians(lat)))
    return round(lat + dlat, 5), round(lon + dlon, 5)


def _locations(rng: random.Random, n: int) -> list[Location]:
    warehouses = max(1, min(len(HUBS), round(n * 0.02)))
    city = {c[0]: c for c in CITIES}
    out = []
    for i in range(warehouses):
        name, lat, lon, _ = city[HUBS[i]]
        la, lo = _jitter(rng, lat, lon, 15.0)
        out.append(Location(f"DC-{name}", "warehouse", la, lo, None, 0.40, 1))
    weights = [c[3] for c in CITIES]
    counts: dict[str, int] = {}
    for _ in range(n - warehouses):
        name, lat, lon, _ = rng.choices(CITIES, weights)[0]
        counts[name] = counts.get(name, 0) + 1
        la, lo = _jitter(rng, lat, lon, 6.0)
        capacity = rng.choice((4, 6, 8, 10, 12, 15, 20))
        out.append(Location(f"ST-{name}-{counts[name]:02d}", "store", la, lo, capacity, round(rng.uniform(1.0, 1.5), 2), 0))
    return out


def generate(orders: int, locations: int, seed: int = 0) -> Instance:
    """A reproducible instance with `orders` orders and `locations` locations (about 2% warehouses)."""
    if orders < 0 or locations < 1:
        raise ValueError("need orders >= 0 and locations >= 1")
    rng = random.Random(seed)
    locs = _locations(rng, locations)
    warehouses = [loc for loc in locs if loc.kind == "warehouse"]
    stores = [loc for loc in locs if loc.kind == "store"]
    n_skus = max(50, orders // 2)
    skus = [f"0871234{k:07d}" for k in range(n_skus)]
    popularity = _zipf_weights(n_skus, 1.0)
    total_pop = sum(popularity)
    # Demand: lines per order 1..4, quantity mostly 1.
    order_list = []
    demand = [0.0] * n_skus
    cities_w = [c[3] for c in CITIES]
    for i in range(orders):
        n_lines = rng.choices((1, 2, 3, 4), (0.55, 0.27, 0.12, 0.06))[0]
        picked: set[int] = set()
        while len(picked) < n_lines:
            picked.add(rng.choices(range(n_skus), popularity)[0])
        qty = {k: rng.choices((1, 2, 3), (0.85, 0.12, 0.03))[0] for k in sorted(picked)}
        for k, q in qty.items():
            demand[k] += q
        lines = tuple(OrderLine(skus[k], q) for k, q in qty.items())
        promise = rng.choices((None, 2, 3), (0.42, 0.38, 0.20))[0]
        if stores and rng.random() < 0.15:
            store = rng.choice(stores)
            channel = "store" if rng.random() < 0.3 else "web"
            order_list.append(Order(f"C-{i + 1:06d}", channel, lines, pickup_at=store.id, promise_days=promise))
        else:
            name, lat, lon, _ = rng.choices(CITIES, cities_w)[0]
            channel = "store" if rng.random() < 0.05 else "web"
            order_list.append(Order(f"W-{i + 1:06d}", channel, lines, ship_to=_jitter(rng, lat, lon, 20.0), promise_days=promise))
    stock = []
    expected_units = sum(demand) or 1.0
    for loc in warehouses:
        share = 1.4 / len(warehouses)  # warehouses together hold ~140% of expected demand
        for k, sku in enumerate(skus):
            mean = expected_units * share * popularity[k] / total_pop
            # Every ranged sku has a few units even in the long tail, popular ones follow demand.
            units = int(rng.random() < 0.99) * max(1, round(rng.gauss(mean, mean * 0.3)) + rng.randint(0, 2))
            if units > 0:
                stock.append(StockItem(loc.id, sku, units, 0))
    for loc in stores:
        # A store ranges a popularity-skewed subset of the catalogue, a few units each, one held back.
        ranged = {rng.choices(range(n_skus), popularity)[0] for _ in range(rng.randint(20, 60))}
        for k in sorted(ranged):
            stock.append(StockItem(loc.id, skus[k], rng.randint(1, 6), rng.choice((0, 1, 1, 2))))
    return Instance(DEFAULT_PARAMS, tuple(locs), tuple(stock), tuple(order_list))

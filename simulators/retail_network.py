"""A made-up retail network for load tests and benchmarks: stores spread over mainland France, a few warehouses, a
catalogue of GTINs and what each location holds of each product, deterministic for a seed. Plain data: loading it
into a database is the caller's business (tests/feed_network.py)."""

from __future__ import annotations

import random
from dataclasses import dataclass

# Mainland France, roughly: stores are placed at random inside it.
LAT_RANGE = (43.3, 50.6)
LON_RANGE = (-1.5, 7.5)


@dataclass(frozen=True)
class Place:
    """A store or warehouse: id, kind (`store` or `warehouse`), position and handling days."""

    id: str
    kind: str
    lat: float
    lon: float
    handling_days: int


@dataclass(frozen=True)
class Holding:
    """Units of one product at one location, and the safety stock held back there."""

    location: str
    gtin: str
    on_hand: int
    safety: int


@dataclass(frozen=True)
class RetailNetwork:
    places: list[Place]
    gtins: list[str]
    holdings: list[Holding]


def gtin14(prefix: str, item: int) -> str:
    """A valid GTIN-14 (`0` + a 7-digit company prefix + a 5-digit item number + the GS1 check digit)."""
    body = "0" + prefix + f"{item % 100_000:05d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def generate(stores: int, products: int, *, warehouses: int = 2, seed: int = 0, tag: str = "NET",
             prefix: str = "0999996", stocked: float = 0.9, empty: float = 0.15) -> RetailNetwork:
    """`stores` stores and `warehouses` warehouses, each store holding a share `stocked` of the `products` (of which a
    share `empty` at 0, out of stock), the warehouses all of them."""
    rng = random.Random(seed)
    places = [Place(f"{tag}-DC{w}", "warehouse", rng.uniform(*LAT_RANGE), rng.uniform(*LON_RANGE), 1) for w in range(warehouses)]
    places += [Place(f"{tag}-ST{s:04d}", "store", rng.uniform(*LAT_RANGE), rng.uniform(*LON_RANGE), 0) for s in range(stores)]
    gtins = [gtin14(prefix, item) for item in range(products)]
    holdings = []
    for place in places:
        for gtin in gtins:
            if place.kind == "warehouse":
                holdings.append(Holding(place.id, gtin, rng.randint(0, 200), 0))
            elif rng.random() < stocked:
                on_hand = 0 if rng.random() < empty else rng.randint(1, 12)
                holdings.append(Holding(place.id, gtin, on_hand, rng.choice((0, 0, 0, 1, 2))))
    return RetailNetwork(places, gtins, holdings)

"""A small, realistic demo network: two warehouses and seven stores in France, apparel with GTINs, stock, a few orders."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.catalog import service as catalog
from fulfil.catalog.schemas import ProductCreate
from fulfil.config import Settings
from fulfil.locations import service as locations
from fulfil.locations.schemas import LocationCreate
from fulfil.models import Location, LocationKind, RfidTag, Role, StockCause, TagState
from fulfil.orders import service as orders
from fulfil.orders.schemas import OrderCreate
from fulfil.stock import service as stock
from fulfil.stock.schemas import AdjustmentReason
from rfid.epc import encode_sgtin96
from rfid.epc.gs1 import gtin_check_digit

DEMO_COMPANY_PREFIX = "0614141"  # the GS1 example prefix: obviously not a real brand's
DEMO_SEED = 20261123
OPENING_TAG_SERIALS = 100_000_000  # the opening stock's tags (the demo's readers and simulators use other ranges)

WEEKDAY_HOURS = {d: [["10:00", "19:30"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}

NETWORK: tuple[tuple[str, str, LocationKind, float, float, int | None, float, int], ...] = (
    # id, name, kind, lat, lon, parcels/day, pick cost per unit, handling days
    ("DC-PARIS", "Paris-Nord distribution centre", LocationKind.WAREHOUSE, 48.9500, 2.5500, 5000, 0.40, 1),
    ("DC-MARSEILLE", "Marseille-Vitrolles distribution centre", LocationKind.WAREHOUSE, 43.4550, 5.2480, 3000, 0.45, 1),
    ("ST-PARIS-01", "Paris Rivoli", LocationKind.STORE, 48.8606, 2.3477, 60, 1.10, 0),
    ("ST-PARIS-02", "Paris La Défense", LocationKind.STORE, 48.8920, 2.2380, 40, 1.20, 0),
    ("ST-LYON-01", "Lyon Part-Dieu", LocationKind.STORE, 45.7640, 4.8357, 40, 1.20, 0),
    ("ST-LILLE-01", "Lille Euralille", LocationKind.STORE, 50.6372, 3.0750, 30, 1.20, 0),
    ("ST-BORDEAUX-01", "Bordeaux Sainte-Catherine", LocationKind.STORE, 44.8400, -0.5730, 30, 1.25, 0),
    ("ST-NANTES-01", "Nantes Atlantis", LocationKind.STORE, 47.2250, -1.6330, 25, 1.25, 0),
    ("ST-TOULOUSE-01", "Toulouse Capitole", LocationKind.STORE, 43.6045, 1.4440, 30, 1.20, 0),
)

GARMENTS = ("Merino crew jumper", "Linen shirt", "Selvedge jeans", "Wool overcoat", "Cotton chinos", "Rain jacket",
            "Leather belt", "Canvas sneakers", "Cashmere scarf", "Oxford shirt", "Down gilet", "Knit beanie")
COLOURS = ("navy", "stone")


@dataclass(frozen=True)
class SeedReport:
    """What a seeding run created (all zero when the demo data was already there)."""

    locations: int
    products: int
    stock_records: int
    orders: int


def demo_gtin(item_reference: int) -> str:
    """A valid GTIN-14 under the demo company prefix."""
    body = "0" + DEMO_COMPANY_PREFIX + f"{item_reference:05d}"
    return body + str(gtin_check_digit(body))


def seed_demo(session: Session, settings: Settings, *, tagged: bool = False) -> SeedReport:
    """Create the demo network once; a second run finds it and changes nothing. With `tagged` (`fulfil demo`), every
    unit of the opening stock carries a registered RFID tag (tagged at source), so RFID stock accuracy starts at 100%
    and the readers' pack stations and exits know every item."""
    if session.scalar(select(func.count()).select_from(Location).where(Location.id.in_([n[0] for n in NETWORK]))):
        return SeedReport(0, 0, 0, 0)
    rng = random.Random(DEMO_SEED)
    for loc_id, name, kind, lat, lon, capacity, pick_cost, handling in NETWORK:
        locations.create(session, LocationCreate(
            id=loc_id, name=name, kind=kind, lat=lat, lon=lon, capacity_per_day=capacity, pick_cost_per_unit=pick_cost,
            handling_days=handling, opening_hours=WEEKDAY_HOURS if kind is LocationKind.STORE else None, timezone="Europe/Paris",
        ))
    gtins: list[str] = []
    for i, (garment, colour) in enumerate((g, c) for g in GARMENTS for c in COLOURS):
        gtin = demo_gtin(10000 + i)
        gtins.append(gtin)
        catalog.create(session, ProductCreate(
            gtin=gtin, name=f"{garment}, {colour}", company_prefix_length=len(DEMO_COMPANY_PREFIX),
            aisle=f"A{1 + i // 6}", bay=f"{1 + (i % 6) // 2:02d}", shelf=str(1 + i % 2), colour=colour,
        ))
    records = 0
    serials = itertools.count(OPENING_TAG_SERIALS)
    seed = stock.Cause(StockCause.SYSTEM, actor="seed", reason=AdjustmentReason.RECEIPT.value, note="demo data")
    for loc_id, _name, kind, *_ in NETWORK:
        for rank, gtin in enumerate(gtins):
            popularity = 1.0 / (1 + rank % 8)  # some products sell (and are stocked) far more than others
            if kind is LocationKind.WAREHOUSE:
                qty = int(200 * popularity) + rng.randint(0, 40)
            elif rng.random() < 0.8:
                qty = rng.randint(0, 4) + int(6 * popularity)
            else:
                continue
            if qty == 0:
                continue
            stock.adjust(session, loc_id, gtin, seed, delta=qty)
            if tagged:
                session.add_all(RfidTag(epc=encode_sgtin96(gtin, serial, len(DEMO_COMPANY_PREFIX)), gtin=gtin, serial=str(serial), location_id=loc_id,
                                        state=TagState.IN_STOCK, version=1) for serial in (next(serials) for _ in range(qty)))
            if kind is LocationKind.STORE:
                stock.set_safety(session, loc_id, gtin, min(1, qty), seed)
            records += 1
    seeder = Principal(token_id=0, name="seed", role=Role.OPS, location_id=None)
    demo_orders = [
        OrderCreate(external_id="DEMO-W-1001", channel="web", promise_days=2, lines=[{"gtin": gtins[0], "qty": 1}, {"gtin": gtins[5], "qty": 1}],
                    ship_to={"name": "Camille Martin", "address_lines": ["12 rue de la République"], "city": "Lyon", "postcode": "69002", "country": "FR", "lat": 45.7597, "lon": 4.8357}),
        OrderCreate(external_id="DEMO-W-1002", channel="web", lines=[{"gtin": gtins[3], "qty": 2}],
                    ship_to={"name": "Hugo Bernard", "address_lines": ["5 quai de la Fosse"], "city": "Nantes", "postcode": "44000", "country": "FR", "lat": 47.2120, "lon": -1.5610}),
        OrderCreate(external_id="DEMO-S-0042", channel="store", pickup_location_id="ST-PARIS-01", origin_location_id="ST-PARIS-01",
                    lines=[{"gtin": gtins[1], "qty": 1}]),
    ]
    for data in demo_orders:
        orders.take_in(session, data, seeder, settings)
    return SeedReport(len(NETWORK), len(gtins), records, len(demo_orders))

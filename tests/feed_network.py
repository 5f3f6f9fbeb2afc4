"""Load a generated retail network (simulators.retail_network) into a database in bulk, with the stock events that
explain every level (so the stock invariant holds), and remove it again. For tests and benchmarks of the local
inventory feed at scale."""

from __future__ import annotations

from sqlalchemy import Engine, delete, insert

from fulfil.models import Location, LocationKind, Product, StockCause, StockEvent, StockEventKind, StockLevel
from fulfil.models.base import utcnow
from simulators.retail_network import RetailNetwork

CHUNK = 5_000


def load(engine: Engine, network: RetailNetwork) -> None:
    """Insert the network's locations, products, levels and one receipt event per level, committed."""
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(insert(Location), [
            {"id": p.id, "name": p.id, "kind": LocationKind(p.kind), "lat": p.lat, "lon": p.lon, "handling_days": p.handling_days,
             "pick_cost_per_unit": 0.5, "pickup_hold_days": 7, "timezone": "Europe/Paris", "active": True, "change_seq": 0,
             "created_at": now, "updated_at": now}
            for p in network.places
        ])
        conn.execute(insert(Product), [{"gtin": g, "name": f"Product {g}", "created_at": now, "updated_at": now} for g in network.gtins])
        for start in range(0, len(network.holdings), CHUNK):
            chunk = network.holdings[start:start + CHUNK]
            conn.execute(insert(StockLevel), [
                {"location_id": h.location, "gtin": h.gtin, "on_hand": h.on_hand, "reserved": 0, "safety": h.safety, "quarantined": 0,
                 "change_seq": 0, "source_seq": 0, "updated_at": now}
                for h in chunk
            ])
            conn.execute(insert(StockEvent), [
                {"occurred_at": now, "location_id": h.location, "gtin": h.gtin, "kind": StockEventKind.RECEIPT, "cause": StockCause.SYSTEM,
                 "on_hand_delta": h.on_hand, "reserved_delta": 0, "safety_delta": h.safety, "quarantine_delta": 0,
                 "on_hand_after": h.on_hand, "reserved_after": 0, "safety_after": h.safety, "quarantined_after": 0, "reason": "receipt", "actor": "load"}
                for h in chunk
            ])


def unload(engine: Engine, network: RetailNetwork) -> None:
    """Remove what load() inserted (and every stock event and level of its locations since)."""
    places = [p.id for p in network.places]
    with engine.begin() as conn:
        for start in range(0, len(places), 500):
            some = places[start:start + 500]
            conn.execute(delete(StockEvent).where(StockEvent.location_id.in_(some)))
            conn.execute(delete(StockLevel).where(StockLevel.location_id.in_(some)))
        conn.execute(delete(Product).where(Product.gtin.in_(network.gtins)))
        for start in range(0, len(places), 500):
            conn.execute(delete(Location).where(Location.id.in_(places[start:start + 500])))

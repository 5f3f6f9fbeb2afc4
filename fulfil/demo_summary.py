"""The end of a `fulfil demo` run: what it did, read back from the database (the service's books) beside what the
simulated people did, with the stock invariant checked; printed, and written as JSON with `--summary-json`."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fulfil.db import unit_of_work
from fulfil.models import Order, ParcelVerification, Return, RoutingDecision, Shipment, StockCause, StockEvent
from fulfil.ops import kpis
from fulfil.stock import invariant
from simulators.network_sim import Simulation


def settle(factory: sessionmaker[Session], started: datetime) -> None:
    """Give the ingest a moment to apply what the readers sent last (bounded: 10 s)."""
    deadline = time.monotonic() + 10
    last = -1
    while time.monotonic() < deadline:
        with unit_of_work(factory) as session:
            n = session.scalar(select(func.count()).select_from(StockEvent).where(StockEvent.occurred_at >= started)) or 0
        if n == last:
            return
        last = n
        time.sleep(1.0)  # polling the ingest's progress, bounded by the deadline


def summarise(factory: sessionmaker[Session], sim: Simulation, started: datetime, speed: float) -> dict[str, Any]:
    """What the run did, from the database (the service's books), beside what the simulated people did."""
    with unit_of_work(factory) as session:
        orders = select(Order.id).where(Order.external_id.like(f"{sim.run_tag}-%"))
        ids = list(session.scalars(orders))
        rows = session.execute(select(Shipment.status, Shipment.location_id, Shipment.pickup_location_id).where(Shipment.order_id.in_(ids))).all() if ids else []
        shipments = Counter(r.status.value for r in rows)
        # Parcels that left their location: home deliveries shipped, ship-to-store parcels on their way or arrived.
        shipped = sum(1 for r in rows if r.status.value in ("shipped", "in_transit", "received")
                      or (r.pickup_location_id not in (None, r.location_id) and r.status.value in ("ready_for_pickup", "collected", "expired")))
        routed = session.scalar(select(func.count(func.distinct(RoutingDecision.order_id))).where(RoutingDecision.order_id.in_(ids))) if ids else 0
        verified = session.scalar(select(func.count()).select_from(ParcelVerification).join(Shipment, Shipment.id == ParcelVerification.shipment_id)
                                  .where(Shipment.order_id.in_(ids), ParcelVerification.complete.is_(True))) if ids else 0
        returns = session.scalar(select(func.count()).select_from(Return).where(Return.order_id.in_(ids))) if ids else 0
        reader_events = Counter(k.value for k in session.scalars(select(StockEvent.kind).where(
            StockEvent.occurred_at >= started, StockEvent.cause == StockCause.READER)))
        drifts = invariant.check(session)
        figures = kpis.compute(session, started, datetime.now(UTC) + timedelta(seconds=1))
    picked_statuses = ("picked", "packed", "verified", "shipped", "in_transit", "received", "ready_for_pickup", "collected", "expired")
    return {
        "simulated": {"hours": round(sim.t / 3600, 2), "speed": speed, "wall_seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
                      "max_lag_seconds": round(sim.tally.max_lag_s, 2)},
        "database": {
            "orders": len(ids), "orders_routed": routed,
            "shipments": dict(sorted(shipments.items())),
            "shipments_picked": sum(shipments[s] for s in picked_statuses),
            "parcels_verified_by_rfid": verified,
            "parcels_shipped": shipped,
            "pickups_collected": shipments["collected"], "pickups_expired": shipments["expired"],
            "returns": returns,
            "reader_stock_events": dict(sorted(reader_events.items())),
        },
        "simulation": dict(sorted(sim.tally.counts.items())),
        "refused": dict(sorted(sim.tally.refused.items())),
        "server_errors": sim.tally.server_errors, "transport_errors": sim.tally.transport_errors,
        "reader_payloads": sim.hub.payloads if sim.hub is not None else 0,
        "kpis": {"cost_per_order": figures["orders"]["cost_per_order"], "split_rate": figures["orders"]["split_rate"],
                 "unfilled_units": figures["orders"]["unfilled_units"], "verification_failure_rate": figures["verification"]["failure_rate"],
                 "overrides": figures["verification"]["overrides"], "no_show_rate": figures["click_and_collect"]["no_show_rate"],
                 "stock_accuracy": figures["stock_accuracy"]["accuracy"]},
        "stock": {"consistent": not drifts, "drifts": [d.describe() for d in drifts[:20]]},
    }


def lines(s: dict[str, Any]) -> list[str]:
    """The summary as the demo prints it."""
    out: list[str] = []
    d, sim = s["database"], s["simulated"]
    out.append("")
    out.append(f"Summary: {sim['hours']} simulated hours in {sim['wall_seconds']} s (speed {sim['speed']:g}x, worst lag {sim['max_lag_seconds']} s)")
    out.append(f"  orders {d['orders']}, routed {d['orders_routed']}; shipments picked {d['shipments_picked']}, parcels verified by RFID "
             f"{d['parcels_verified_by_rfid']}, shipped {d['parcels_shipped']}; pickups collected {d['pickups_collected']}, expired "
             f"{d['pickups_expired']}; returns {d['returns']}")
    out.append(f"  shipments by status: {', '.join(f'{k} {v}' for k, v in d['shipments'].items()) or 'none'}")
    out.append(f"  RFID: {s['reader_payloads']} reader payloads; stock moved by readers: "
             f"{', '.join(f'{k} {v}' for k, v in d['reader_stock_events'].items()) or 'nothing'}")
    out.append("  people: " + ", ".join(f"{k} {v}" for k, v in s["simulation"].items()))
    if s["refused"]:
        out.append("  refused by the service (races a real store has too): " + ", ".join(f"{k} x{v}" for k, v in s["refused"].items()))
    k = s["kpis"]
    out.append(f"  KPIs: cost per order {k['cost_per_order']}, split rate {k['split_rate']}, units unfilled {k['unfilled_units']}, "
             f"verification failure rate {k['verification_failure_rate']}, closed by hand {k['overrides']}, RFID stock accuracy {k['stock_accuracy']}")
    if s["stock"]["consistent"]:
        out.append("  stock: consistent (every reservation held by an open shipment or hold; the event log sums to every level)")
    else:
        out.append("  stock: DRIFT\n    " + "\n    ".join(s["stock"]["drifts"]))
    if s["server_errors"]:
        out.append(f"  server errors: {s['server_errors']} (see the log above)")
    return out

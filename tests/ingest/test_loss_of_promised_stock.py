"""A tag lost through the exit when every unit of its product was promised to orders: one order gives its units
back and is routed again, so no reservation is left without stock behind it (the stock invariant holds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from fulfil.auth.service import Principal
from fulfil.config import Settings
from fulfil.db import unit_of_work
from fulfil.ingest.config import parse_config
from fulfil.ingest.pipeline import IngestPipeline
from fulfil.models import Order, Role, Shipment, ShipmentStatus, StockLevel
from fulfil.orders import service as orders
from fulfil.orders.schemas import OrderCreate
from fulfil.shipments import workflow
from fulfil.stock.invariant import check
from tests.ingest.conftest import impinj, readers_toml

OPS = Principal(token_id=0, name="test", role=Role.OPS, location_id=None)


def walk_out(pipeline: IngestPipeline, epc: str, reader: str) -> None:
    """Inner side of the exit first, then the outer: a departure through the portal."""
    t0 = datetime.now(UTC)
    for i in range(2):
        pipeline.feed_payload(impinj(epc, 3, t0 + timedelta(milliseconds=50 * i), rssi_cdbm=-4000), reader=reader)
    for i in range(2):
        pipeline.feed_payload(impinj(epc, 4, t0 + timedelta(milliseconds=400 + 50 * i), rssi_cdbm=-4000), reader=reader)
    pipeline.commit(datetime.now(UTC) + timedelta(seconds=10))


def level(factory: Any, store: str, gtin: str) -> tuple[int, int]:
    with factory() as s:
        row = s.get(StockLevel, (store, gtin))
        return (row.on_hand, row.reserved) if row else (0, 0)


def setup_promised(site: dict[str, Any], *, started: bool) -> tuple[IngestPipeline, str, int]:
    """Two tags received at the store and both promised to a click-and-collect order there (started or not)."""
    factory, store, gtin, epcs = site["factory"], site["store"], site["gtin"], site["epcs"][:2]
    pipeline = IngestPipeline(parse_config(readers_toml(store, "unused/topic", "unused")), factory)
    reader = f"r700-{store}"
    for epc in epcs:
        pipeline.feed_payload(impinj(epc, 1), reader=reader)
    pipeline.commit()
    with unit_of_work(factory) as s:
        order = OrderCreate(external_id=f"LOSS-{store}", channel="store", pickup_location_id=store, lines=[{"gtin": gtin, "qty": 2}])
        intake = orders.take_in(s, order, OPS, Settings())
        shipment_id = intake.order.shipments[0].id
        if started:
            workflow.start_picking(s, shipment_id, OPS)
    assert level(factory, store, gtin) == (2, 2)
    return pipeline, reader, shipment_id


def test_a_loss_takes_back_a_promise_nothing_started_on(site: dict[str, Any]) -> None:
    factory, store, gtin = site["factory"], site["store"], site["gtin"]
    pipeline, reader, shipment_id = setup_promised(site, started=False)
    walk_out(pipeline, site["epcs"][1], reader)
    with factory() as s:
        old = s.get(Shipment, shipment_id)
        assert old is not None and old.status is ShipmentStatus.SUPERSEDED
        order = s.get(Order, old.order_id)
        assert order is not None and order.status.value == "partially_routed"  # 1 still here, 1 nowhere
        live = s.scalars(select(Shipment).where(Shipment.order_id == old.order_id, Shipment.status == ShipmentStatus.ASSIGNED)
                         .options(selectinload(Shipment.lines))).all()
        assert [(sh.location_id, [ln.qty for ln in sh.lines]) for sh in live] == [(store, [1])]
        assert check(s) == []
    assert level(factory, store, gtin) == (1, 1)


def test_a_loss_rejects_a_started_shipment_when_nothing_else_holds_the_product(site: dict[str, Any]) -> None:
    factory, store, gtin = site["factory"], site["store"], site["gtin"]
    pipeline, reader, shipment_id = setup_promised(site, started=True)
    walk_out(pipeline, site["epcs"][0], reader)
    walk_out(pipeline, site["epcs"][0], reader)  # the same passage again changes nothing
    with factory() as s:
        old = s.get(Shipment, shipment_id)
        assert old is not None and old.status is ShipmentStatus.REJECTED
        assert old.rejection_reason is not None and "left through the exit" in old.rejection_reason
        order = s.get(Order, old.order_id)
        assert order is not None and order.status.value == "unfillable"  # never routed back to the store that gave it up
        assert check(s) == []
    assert level(factory, store, gtin) == (1, 0)

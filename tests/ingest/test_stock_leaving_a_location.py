"""Stock that physically leaves a location (lost through the exit, read at another store): the books follow it,
and when every unit there was promised to orders, one order gives its units back and is routed again, so no
reservation is left without stock behind it (the stock invariant holds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import selectinload

from fulfil.auth.service import Principal
from fulfil.config import Settings
from fulfil.db import unit_of_work
from fulfil.ingest.config import parse_config
from fulfil.ingest.pipeline import IngestPipeline
from fulfil.models import Location, LocationKind, Order, RfidTag, Role, Shipment, ShipmentStatus, StockEvent, StockLevel, TagState
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


@pytest.fixture()
def second_store(site: dict[str, Any]) -> Iterator[str]:
    """Another store, committed for real, removed with its stock afterwards."""
    factory, store_b = site["factory"], f"{site['store']}-B"
    with unit_of_work(factory) as s:
        s.add(Location(id=store_b, name="second store", kind=LocationKind.STORE, lat=45.1, lon=4.1))
    yield store_b
    with unit_of_work(factory) as s:
        s.execute(delete(StockEvent).where(StockEvent.location_id == store_b))
        s.execute(delete(StockLevel).where(StockLevel.location_id == store_b))
        s.execute(update(RfidTag).where(RfidTag.location_id == store_b).values(location_id=site["store"]))
        s.execute(delete(Location).where(Location.id == store_b))


def two_store_pipeline(site: dict[str, Any], store_b: str) -> IngestPipeline:
    text = readers_toml(site["store"], "unused/a", "unused") + f"""
[[readers]]
id = "r700-{store_b}"
location = "{store_b}"
transport = "mqtt"
topic = "unused/b"
format = "impinj"
[readers.antennas]
1 = "receiving"
2 = "salesfloor"

[zones.salesfloor]
arrival_reads = 1
arrival_ms = 0
"""
    return IngestPipeline(parse_config(text), site["factory"])


def test_a_tag_in_stock_at_one_store_read_on_anothers_sales_floor_is_transferred(site: dict[str, Any], second_store: str) -> None:
    """Not a silent change of zone with the old location kept: the unit moves, A -1 and B +1, exactly once."""
    factory, store, gtin, epc = site["factory"], site["store"], site["gtin"], site["epcs"][0]
    pipeline = two_store_pipeline(site, second_store)
    pipeline.feed_payload(impinj(epc, 1), reader=f"r700-{store}")
    pipeline.commit()
    later = datetime.now(UTC) + timedelta(minutes=5)  # long after the dock stopped hearing it
    for i in range(2):  # read again: nothing more moves
        pipeline.feed_payload(impinj(epc, 2, later + timedelta(seconds=i)), reader=f"r700-{second_store}")
        pipeline.commit(later + timedelta(seconds=i))
    with factory() as s:
        tag = s.get(RfidTag, epc)
        assert tag is not None and (tag.location_id, tag.zone, tag.state) == (second_store, "salesfloor", TagState.IN_STOCK)
        assert check(s) == []
    assert level(factory, store, gtin) == (0, 0) and level(factory, second_store, gtin) == (1, 0)


def test_a_promised_unit_read_at_another_store_takes_the_promise_back(site: dict[str, Any], second_store: str) -> None:
    factory, store, gtin = site["factory"], site["store"], site["gtin"]
    _pipeline, _reader, shipment_id = setup_promised(site, started=False)
    pipeline = two_store_pipeline(site, second_store)  # a fresh worker: it never heard the tag at the first store
    pipeline.feed_payload(impinj(site["epcs"][0], 2), reader=f"r700-{second_store}")
    pipeline.commit()
    with factory() as s:
        old = s.get(Shipment, shipment_id)
        assert old is not None and old.status is ShipmentStatus.SUPERSEDED
        assert check(s) == []
    assert level(factory, store, gtin) == (1, 1) and level(factory, second_store, gtin)[0] == 1

"""Pack-station verification end to end: tags received by RFID, an order routed to the store, packed at a
station, judged live by the pack-station antenna, shipped; stock and tag states follow exactly."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from fulfil.auth.service import Principal
from fulfil.config import Settings
from fulfil.db import unit_of_work
from fulfil.models import RfidTag, Role, Shipment, StockLevel, TagState
from fulfil.orders.schemas import OrderCreate
from fulfil.orders.service import create_order
from fulfil.routing_runs.service import route_new_order
from fulfil.shipments import verification, workflow
from simulators.broker import MosquittoBroker
from tests.ingest.conftest import impinj, on_hand
from tests.ingest.test_mqtt_ingest import make_worker, wait_until

OPS = Principal(token_id=0, name="test", role=Role.OPS, location_id=None)


def test_parcel_is_verified_by_its_tags_then_shipped(broker: MosquittoBroker, site: dict[str, Any], publish: Callable[[str, bytes], None]) -> None:
    factory, store, gtin, epcs = site["factory"], site["store"], site["gtin"], site["epcs"]
    topic = f"readers/{uuid.uuid4().hex[:8]}/events"
    pipeline, worker = make_worker(broker, site, topic, f"ing-{uuid.uuid4().hex[:6]}")
    try:
        for epc in epcs[:3]:
            publish(topic, impinj(epc, 1))
        wait_until(lambda: on_hand(factory, store, gtin) == 3, worker.step, "three tags received")
        with unit_of_work(factory) as s:
            order = create_order(s, OrderCreate(external_id=f"PACK-{uuid.uuid4().hex[:6]}", channel="web", ship_to={"lat": 45.01, "lon": 4.0},
                                                lines=[{"gtin": gtin, "qty": 2}]), OPS).order
            route_new_order(s, order.id, Settings(routing_batch_interval_seconds=0), "test")
            shipment_id = s.scalars(select(Shipment.id).where(Shipment.order_id == order.id)).one()
        with unit_of_work(factory) as s:
            workflow.start_picking(s, shipment_id, OPS)
            workflow.mark_picked(s, shipment_id, OPS)
            _, parcel, sscc_epc = workflow.pack(s, shipment_id, "pack-station-1", OPS, "0614141")
            assert len(parcel.sscc) == 18 and sscc_epc.startswith("31")
        # One item on the pack table: not complete yet, and the verdict says what is short.
        for _ in range(2):  # a reader reads continuously; a move needs a challenger read and a confirming one
            publish(topic, impinj(epcs[0], 5, rssi_cdbm=-3000))
        wait_until(lambda: _verdict(factory, shipment_id) is not None, worker.step, "first verdict")
        first = _verdict(factory, shipment_id)
        assert first is not None and not first["complete"]
        assert first["wrong_quantity"][0]["expected"] == 2 and first["wrong_quantity"][0]["seen"] == 1
        # The second item and the parcel's own SSCC tag: complete, verified.
        for _ in range(2):
            publish(topic, impinj(epcs[1], 5, rssi_cdbm=-3000))
            publish(topic, impinj(sscc_epc, 5, rssi_cdbm=-3000))
        wait_until(lambda: (_verdict(factory, shipment_id) or {}).get("complete") is True, worker.step, "complete verdict")
        assert _verdict(factory, shipment_id)["parcel_tag_seen"] is True  # type: ignore[index]
        with factory() as s:
            assert s.get(Shipment, shipment_id).status.value == "verified"  # type: ignore[union-attr]
            states = {t.epc: t.state for t in s.scalars(select(RfidTag).where(RfidTag.epc.in_(epcs[:3])))}
        assert states == {epcs[0]: TagState.PACKED, epcs[1]: TagState.PACKED, epcs[2]: TagState.IN_STOCK}
        with unit_of_work(factory) as s:
            workflow.ship(s, shipment_id, OPS)
        with factory() as s:
            level = s.get(StockLevel, (store, gtin))
            assert level is not None and (level.on_hand, level.reserved) == (1, 0)
            assert s.get(RfidTag, epcs[0]).state is TagState.SHIPPED  # type: ignore[union-attr]
    finally:
        worker.subscriber.stop()


def _verdict(factory: Any, shipment_id: int) -> dict[str, Any] | None:
    with factory() as s:
        row = verification.latest(s, shipment_id)
        return dict(row.verdict) if row is not None else None

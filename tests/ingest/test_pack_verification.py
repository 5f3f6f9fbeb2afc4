"""Pack-station verification end to end: tags received by RFID, an order routed to the store, packed at a
station, judged live by the pack-station antenna, shipped; stock and tag states follow exactly."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select

from fulfil.app import create_app
from fulfil.auth.service import Principal, create_token
from fulfil.config import Settings
from fulfil.db import unit_of_work
from fulfil.models import ApiToken, RfidTag, Role, Shipment, StockLevel, TagState
from fulfil.orders.schemas import OrderCreate
from fulfil.orders.service import create_order
from fulfil.routing_runs.service import route_new_order
from fulfil.shipments import verification, workflow
from tests.factories import quiet_settings
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


def test_ingest_and_verdict_agree_on_what_is_foreign(engine: Engine, database_url: str, site: dict[str, Any], tmp_path: Path) -> None:
    """One definition (rfid.verification.classify_tag): the parcel's own SSCC is not foreign in the ingest answer
    since the verdict sees it as the parcel's tag, and a junk tag is foreign in both, for the same reason."""
    factory, store, gtin, epcs = site["factory"], site["store"], site["gtin"], site["epcs"]
    readers = tmp_path / "readers.toml"
    readers.write_text(f"""
hold_off_ms = 0
[zones.receiving]
arrival_reads = 1
arrival_ms = 0
[zones.pack-station-1]
arrival_reads = 1
arrival_ms = 0
[[readers]]
id = "desk-{store}"
location = "{store}"
transport = "http"
format = "impinj"
[readers.antennas]
1 = "receiving"
5 = "pack-station-1"
""")
    junk = "E2801190A5021F80055817CA"  # a TID-like EPC: not GS1
    with unit_of_work(factory) as s:
        ops = {"Authorization": f"Bearer {create_token(s, role=Role.OPS, name=f'pack-{store}').secret}"}
    try:
        with TestClient(create_app(quiet_settings(database_url, readers_config=readers), engine=engine)) as client:
            def post(epc: str, antenna: int) -> list[dict[str, Any]]:
                payload = impinj(epc, antenna, rssi_cdbm=-3000 if antenna == 5 else -4500)  # the pack table's antenna is the nearer
                response = client.post(f"/api/v1/ingest/payloads?reader=desk-{store}", headers=ops, content=payload)
                assert response.status_code == 200, response.text
                effects: list[dict[str, Any]] = response.json()["effects"]
                return effects

            assert [e["outcome"] for e in post(epcs[0], 1)] == ["received"]
            with unit_of_work(factory) as s:
                order = create_order(s, OrderCreate(external_id=f"FRN-{uuid.uuid4().hex[:6]}", channel="web", ship_to={"lat": 45.01, "lon": 4.0},
                                                    lines=[{"gtin": gtin, "qty": 1}]), OPS).order
                route_new_order(s, order.id, Settings(routing_batch_interval_seconds=0), "test")
                shipment_id = s.scalars(select(Shipment.id).where(Shipment.order_id == order.id)).one()
            with unit_of_work(factory) as s:
                workflow.start_picking(s, shipment_id, OPS)
                workflow.mark_picked(s, shipment_id, OPS)
                _, _parcel, sscc_epc = workflow.pack(s, shipment_id, "pack-station-1", OPS, "0614141")
            own = post(sscc_epc, 5)  # the labelled parcel goes on the table first
            assert [(e["outcome"], e["epc"]) for e in own if e["epc"]] == [("ignored", sscc_epc)]
            verdict = _verdict(factory, shipment_id)
            assert verdict is not None and verdict["parcel_tag_seen"] is True and verdict["foreign"] == []
            stray = post(junk, 5)
            assert [(e["outcome"], e["epc"]) for e in stray if e["epc"]] == [("foreign", junk)]
            verdict = _verdict(factory, shipment_id)
            assert verdict is not None and verdict["foreign"] == [{"epc": junk, "reason": stray[0]["detail"]}]
            moved = [e for _ in range(2) for e in post(epcs[0], 5)]  # a move needs a challenging read and a confirming one
            assert ("located", epcs[0]) in [(e["outcome"], e["epc"]) for e in moved]
            verdict = _verdict(factory, shipment_id)
            assert verdict is not None and not verdict["complete"] and verdict["missing"] == [] and verdict["parcel_tag_seen"] is True
            status = client.get("/api/v1/ingest/status", headers=ops).json()["pipeline"]["effects"]
            assert status["foreign"] == 1
    finally:
        with unit_of_work(factory) as s:
            s.execute(delete(ApiToken).where(ApiToken.name == f"pack-{store}"))

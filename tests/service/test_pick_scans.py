"""Picking by scanning: one picker holds a shipment, each scan is judged and recorded once, and the picked quantity
comes from the scans (fulfil.shipments.scans)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from fulfil.app import create_app
from fulfil.auth.service import create_token
from fulfil.db import make_session_factory, unit_of_work
from fulfil.models import ApiToken, Location, LocationKind, OrderLine, Product, Role, ShipmentScan, StockCause, StockEvent, StockLevel
from fulfil.stock import service as stock_service
from tests.conftest import make_gtin
from tests.factories import delete_orders, quiet_settings
from rfid.epc import encode_sgtin96
from tests.service.flows import act, place, shipment_at


@pytest.fixture()
def world(make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None],
          auth: Callable[..., dict[str, str]]) -> dict[str, Any]:
    """A store beside the customers with 5 of each of two products (and a third it does not need), two pickers."""
    store = make_location(kind=LocationKind.STORE, lat=45.0, lon=4.0, capacity_per_day=20, pick_cost_per_unit=0.5).id
    boots, socks, hat = make_product(name="Bottes 42").gtin, make_product(name="Chaussettes").gtin, make_product(name="Bonnet").gtin
    for gtin in (boots, socks, hat):
        stock_of(store, gtin, 5)
    return {"store": store, "boots": boots, "socks": socks, "hat": hat, "lea": auth("picker", store), "hugo": auth("picker", store)}


@pytest.fixture()
def picking(client: TestClient, ops: dict[str, str], world: dict[str, Any]) -> dict[str, Any]:
    placed = place(client, ops, {world["boots"]: 2, world["socks"]: 1})
    shipment = shipment_at(placed, world["store"])
    started = act(client, world["lea"], shipment["id"], "start")
    return {**world, "shipment": shipment["id"], "started": started}


def scan(client: TestClient, headers: dict[str, str], shipment_id: int, code: str, scan_id: str | None = None) -> Any:
    response = client.post(f"/api/v1/shipments/{shipment_id}/scans", headers=headers, json={"scan_id": uuid.uuid4().hex if scan_id is None else scan_id, "code": code})
    return response


def test_scans_count_units_and_refuse_what_does_not_belong(client: TestClient, picking: dict[str, Any]) -> None:
    sid, lea = picking["shipment"], picking["lea"]
    assert picking["started"]["claimed_by"] == "test-picker" and picking["started"]["claimed_at"]
    stored = client.get(f"/api/v1/shipments/{sid}", headers=lea).json()  # committed by the start itself, before any scan
    assert stored["claimed_by"] == "test-picker" and stored["claimed_at"] == picking["started"]["claimed_at"]
    first = scan(client, lea, sid, picking["boots"][1:]).json()  # the EAN-13 on the box
    assert first["accepted"] and first["outcome"] == "accepted" and first["message"] == "Bottes 42: 1 of 2."
    assert (first["picked_units"], first["total_units"]) == (1, 3)
    wrong = scan(client, lea, sid, picking["hat"]).json()
    assert not wrong["accepted"] and wrong["outcome"] == "wrong_item" and "Bonnet is not in this order" in wrong["message"]
    assert scan(client, lea, sid, f"]C101{picking['boots']}").json()["message"] == "Bottes 42: 2 of 2."
    too_many = scan(client, lea, sid, f"(01){picking['boots']}").json()
    assert too_many["outcome"] == "already_complete" and "One too many" in too_many["message"] and too_many["picked_units"] == 2
    unreadable = scan(client, lea, sid, "hello").json()
    assert unreadable["outcome"] == "unreadable" and not unreadable["accepted"]
    label = scan(client, lea, sid, "106141410000000002").json()
    assert label["outcome"] == "not_an_item"
    last = scan(client, lea, sid, picking["socks"]).json()
    assert (last["picked_units"], last["total_units"]) == (3, 3)
    assert {ln["gtin"]: ln["picked_qty"] for ln in last["lines"]} == {picking["boots"]: 2, picking["socks"]: 1}


def test_a_scan_sent_again_counts_once_and_gets_the_same_answer(client: TestClient, picking: dict[str, Any], session: Session) -> None:
    sid, lea = picking["shipment"], picking["lea"]
    first = scan(client, lea, sid, picking["boots"], scan_id="scan-1").json()
    again = scan(client, lea, sid, picking["boots"], scan_id="scan-1").json()
    assert again["replayed"] and not first["replayed"]
    assert {k: v for k, v in again.items() if k != "replayed"} == {k: v for k, v in first.items() if k != "replayed"}
    assert again["picked_units"] == 1
    refused = scan(client, lea, sid, picking["hat"], scan_id="scan-2").json()
    assert scan(client, lea, sid, picking["hat"], scan_id="scan-2").json()["outcome"] == refused["outcome"] == "wrong_item"
    assert session.scalar(select(func.count()).select_from(ShipmentScan).where(ShipmentScan.shipment_id == sid)) == 2


def test_concurrent_replays_of_one_scan_count_once(engine: Engine, database_url: str) -> None:
    """The same scan sent by six threads at once (a flaky network's retries racing), committed for real through
    separate connections: one unit, one record, five replays of the first answer."""
    factory = make_session_factory(engine)
    store, gtin = f"SCAN-{uuid.uuid4().hex[:8]}", make_gtin(prefix="0999998")
    cause = stock_service.Cause(StockCause.SYSTEM, actor="race", reason="receipt")
    with unit_of_work(factory) as s:
        s.add(Location(id=store, name="race", kind=LocationKind.STORE, lat=45.0, lon=4.0, capacity_per_day=20))
        s.add(Product(gtin=gtin, name="race boots"))
    with unit_of_work(factory) as s:
        stock_service.adjust(s, store, gtin, cause, delta=5)
        picker = create_token(s, role=Role.PICKER, name=f"race-{store}", location_id=store).secret
        ops = create_token(s, role=Role.OPS, name=f"race-{store}").secret
    app = create_app(quiet_settings(database_url), engine=engine)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            placed = client.post("/api/v1/orders", headers={"Authorization": f"Bearer {ops}"}, json={
                "external_id": f"R-{store}", "channel": "store", "origin_location_id": store, "pickup_location_id": store,
                "lines": [{"gtin": gtin, "qty": 2}]})
            assert placed.status_code == 201, placed.text
            sid = shipment_at(placed.json(), store)["id"]
            headers = {"Authorization": f"Bearer {picker}"}
            assert client.post(f"/api/v1/shipments/{sid}/start", headers=headers).status_code == 200
            barrier = threading.Barrier(6)

            def send(_: int) -> Any:
                barrier.wait(timeout=30)
                return scan(client, headers, sid, gtin, scan_id="race-1")

            with ThreadPoolExecutor(max_workers=6) as pool:
                answers = list(pool.map(send, range(6)))
            assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers if a.status_code != 200]
            assert sorted(a.json()["replayed"] for a in answers) == [False] + [True] * 5
            assert {a.json()["picked_units"] for a in answers} == {1}
            with factory() as s:
                assert s.scalar(select(func.count()).select_from(ShipmentScan).where(ShipmentScan.shipment_id == sid)) == 1
    finally:
        with unit_of_work(factory) as s:
            delete_orders(s, list(s.scalars(select(OrderLine.order_id).where(OrderLine.gtin == gtin))))
            s.execute(delete(StockEvent).where(StockEvent.location_id == store))
            s.execute(delete(StockLevel).where(StockLevel.location_id == store))
            s.execute(delete(ApiToken).where(ApiToken.name == f"race-{store}"))
            s.execute(delete(Product).where(Product.gtin == gtin))
            s.execute(delete(Location).where(Location.id == store))


def test_an_rfid_tag_counts_once_whatever_the_scan_id(client: TestClient, picking: dict[str, Any]) -> None:
    sid, lea = picking["shipment"], picking["lea"]
    epc = encode_sgtin96(picking["boots"], 4711, company_prefix_length=7)
    assert scan(client, lea, sid, epc).json()["outcome"] == "accepted"
    again = scan(client, lea, sid, epc.lower()).json()  # another trigger pull of the same tag
    assert again["outcome"] == "duplicate_item" and again["picked_units"] == 1
    other = encode_sgtin96(picking["boots"], 4712, company_prefix_length=7)
    assert scan(client, lea, sid, other).json()["picked_units"] == 2


def test_one_picker_holds_a_shipment_until_it_is_released(client: TestClient, ops: dict[str, str], picking: dict[str, Any]) -> None:
    sid, lea, hugo = picking["shipment"], picking["lea"], picking["hugo"]
    taken = client.post(f"/api/v1/shipments/{sid}/start", headers=hugo)
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "claimed"
    assert "test-picker is picking this shipment" in taken.json()["error"]["message"]
    assert scan(client, hugo, sid, picking["boots"]).status_code == 409
    assert client.post(f"/api/v1/shipments/{sid}/release", headers=hugo).status_code == 409  # only the claimant or ops
    assert act(client, lea, sid, "start")["status"] == "picking"  # the claimant starting again changes nothing
    assert scan(client, lea, sid, picking["boots"]).json()["picked_units"] == 1
    released = act(client, ops, sid, "release")
    assert released["claimed_by"] is None
    assert act(client, hugo, sid, "start")["claimed_by"] == "test-picker"  # Hugo's token holds it now
    assert scan(client, hugo, sid, picking["boots"]).json()["picked_units"] == 2  # where Léa left it
    assert scan(client, lea, sid, picking["socks"]).status_code == 409
    assert scan(client, ops, sid, picking["socks"]).json()["accepted"]  # ops may always act


def test_a_staff_member_keeps_their_shipment_across_sessions(client: TestClient, ops: dict[str, str], picking: dict[str, Any]) -> None:
    pin = str(100_000 + uuid.uuid4().int % 900_000)
    made = client.post("/api/v1/staff", headers=ops, json={"location_id": picking["store"], "name": "Léa", "pin": pin})
    assert made.status_code == 201

    def session_token() -> dict[str, str]:
        body = client.post("/api/v1/store/sign-in", json={"location_id": picking["store"], "pin": pin}).json()
        return {"Authorization": f"Bearer {body['token']}"}

    placed = place(client, ops, {picking["hat"]: 1})
    sid = shipment_at(placed, picking["store"])["id"]
    handheld, other_handheld = session_token(), session_token()
    assert act(client, handheld, sid, "start")["claimed_by"] == "Léa"
    assert scan(client, other_handheld, sid, picking["hat"]).json()["accepted"]  # the same Léa on another device
    assert client.post(f"/api/v1/shipments/{sid}/start", headers=picking["hugo"]).json()["error"]["message"].startswith("Léa is picking")


def test_scanning_needs_a_started_shipment(client: TestClient, ops: dict[str, str], world: dict[str, Any]) -> None:
    sid = shipment_at(place(client, ops, {world["boots"]: 1}), world["store"])["id"]
    refused = scan(client, world["lea"], sid, world["boots"])
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_picking"


@pytest.mark.parametrize("scan_id", ["", "x" * 65, "has space", "é"])
def test_scan_ids_are_bounded(client: TestClient, picking: dict[str, Any], scan_id: str) -> None:
    assert scan(client, picking["lea"], picking["shipment"], picking["boots"], scan_id=scan_id).status_code == 422


def test_a_packed_parcel_closes_without_a_complete_verdict_only_with_a_reason(client: TestClient, ops: dict[str, str], picking: dict[str, Any]) -> None:
    sid, lea = picking["shipment"], picking["lea"]
    early = client.post(f"/api/v1/shipments/{sid}/override", headers=lea, json={"reason": "tag unreadable"})
    assert early.status_code == 409 and early.json()["error"]["code"] == "not_packed"  # picking: nothing to close yet
    act(client, lea, sid, "picked")
    act(client, lea, sid, "pack", station="pack-station-1")
    assert client.post(f"/api/v1/shipments/{sid}/override", headers=lea, json={"reason": "x"}).status_code == 422  # say why
    closed = client.post(f"/api/v1/shipments/{sid}/override", headers=lea, json={"reason": "the boots' tag is unreadable"})
    assert closed.status_code == 200 and closed.json()["status"] == "verified"
    assert closed.json()["parcels"][-1]["status"] == "verified"
    again = client.post(f"/api/v1/shipments/{sid}/override", headers=lea, json={"reason": "a retried tap"})
    assert again.status_code == 200 and again.json()["status"] == "verified"
    stream = client.get(f"/api/v1/locations/{picking['store']}/stream", headers=ops, params={"from_start": True, "max_seconds": 0.5})
    verified = [line for line in stream.text.splitlines() if line.startswith("data:") and '"shipment.verified"' in line]
    assert len(verified) == 1 and "override by" in verified[0] and "the boots' tag is unreadable" in verified[0]
    assert act(client, lea, sid, "ship")["status"] == "shipped"


def test_a_pre_printed_parcel_label_is_checked_then_taken_once(client: TestClient, ops: dict[str, str], picking: dict[str, Any]) -> None:
    from fulfil.shipments.workflow import sscc_for
    from rfid.epc.decode import decode_epc
    from rfid.epc.gs1 import gtin_check_digit

    def label(body17: str) -> str:
        return body17 + str(gtin_check_digit(body17))

    lea, first = picking["lea"], picking["shipment"]
    second = shipment_at(place(client, ops, {picking["socks"]: 1}), picking["store"])["id"]
    act(client, lea, second, "start")
    for sid in (first, second):
        act(client, lea, sid, "picked")
    ours = sscc_for("0614141", second, 1)  # the number the service would give the second parcel: a label takes it first

    def pack(sid: int, sscc: str | None) -> Any:
        return client.post(f"/api/v1/shipments/{sid}/pack", headers=lea, json={"station": "pack-station-1", "sscc": sscc})

    wrong_check = ours[:-1] + str((int(ours[-1]) + 1) % 10)
    refused = pack(first, wrong_check)
    assert refused.status_code == 422 and "check digit" in str(refused.json()["error"]["details"])
    foreign = label("1" + "0012345" + "000000042")
    refused = pack(first, foreign)
    assert refused.status_code == 422 and "prefix" in refused.json()["error"]["message"]
    assert pack(first, "12345").status_code == 422
    assert client.get(f"/api/v1/shipments/{first}", headers=lea).json()["status"] == "picked"  # nothing changed on a refusal

    packed = pack(first, ours)
    assert packed.status_code == 200 and packed.json()["sscc"] == ours
    assert decode_epc(packed.json()["sscc_epc"]).gs1_key == ours  # the parcel's own tag says the label's number
    taken = pack(second, ours)
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "sscc_in_use"
    allocated = pack(second, None)
    assert allocated.status_code == 200 and allocated.json()["sscc"] == sscc_for("0614141", second, 1, 1) != ours

"""The outbox through the real flows: each webhook type is written in the transaction of the change that causes it,
once per change (not once per journal copy), with what its type names (the SSCC, the pickup code, the cancel
reason, the refund due, the units left unfilled, the availability bucket), and never when the change did not
commit (a failed request, a rolled-back transaction or savepoint)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fulfil.models import LocationKind, Order, Parcel, StockCause, WebhookEvent
from fulfil.pickups import service as pickups
from fulfil.pickups.expiry import sweep
from fulfil.stock import service as stock
from fulfil.webhooks import outbox
from tests.click_and_collect import place, tag, verified
from tests.delivery import OPS, collect, deliver
from tests.factories import next_number


def outbox_of(session: Session, *, order_id: int | None = None, type_: str | None = None, key: str | None = None) -> list[dict[str, Any]]:
    """Events in the outbox (as committed in this test's transaction), oldest first: their bodies, with the id."""
    session.expire_all()
    stmt = select(WebhookEvent).order_by(WebhookEvent.id)
    if order_id is not None:
        stmt = stmt.where(WebhookEvent.order_id == order_id)
    if type_ is not None:
        stmt = stmt.where(WebhookEvent.type == type_)
    if key is not None:
        stmt = stmt.where(WebhookEvent.ordering_key == key)
    return [{"id": e.public_id, "key": e.ordering_key, **json.loads(e.body)} for e in session.scalars(stmt)]


def types_of(session: Session, order_id: int) -> list[str]:
    return [e["type"] for e in outbox_of(session, order_id=order_id)]


@pytest.fixture()
def store(make_location: Callable[..., Any]) -> str:
    return str(make_location(kind=LocationKind.STORE, lat=48.86, lon=2.35, name="Paris Rivoli", pickup_hold_days=3).id)


def home_order(client: TestClient, ops: dict[str, str], gtin: str, qty: int, **extra: Any) -> dict[str, Any]:
    body = {"external_id": f"WH-{next_number()}", "channel": "web", "ship_to": {"lat": 48.86, "lon": 2.35},
            "lines": [{"gtin": gtin, "qty": qty}], **extra}
    answer = client.post("/api/v1/orders", headers=ops, json=body)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_every_payload_has_the_envelope_and_an_event_id(client: TestClient, ops: dict[str, str], session: Session, store: str,
                                                       make_product: Callable[..., Any], stock_of: Callable[..., None]) -> None:
    gtin = make_product().gtin
    stock_of(store, gtin, 5)
    order = home_order(client, ops, gtin, 2)
    [event] = outbox_of(session, order_id=order["id"])
    assert set(event) == {"id", "key", "type", "timestamp", "data"}
    assert event["id"].startswith("evt_") and len(event["id"]) == 36 and "." not in event["id"]
    assert event["key"] == f"order:{order['id']}"
    assert datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).tzinfo is not None
    assert event["timestamp"].endswith("Z")


def test_order_routed_names_where_it_is_served_from(client: TestClient, ops: dict[str, str], session: Session, store: str,
                                                    make_product: Callable[..., Any], stock_of: Callable[..., None]) -> None:
    gtin = make_product().gtin
    stock_of(store, gtin, 5)
    order = home_order(client, ops, gtin, 2, customer_ref="C-42")
    [event] = outbox_of(session, order_id=order["id"])
    assert event["type"] == "order.routed"
    data = event["data"]
    assert data["order"] == {"id": order["id"], "external_id": order["external_id"], "status": "routed", "channel": "web", "customer_ref": "C-42"}
    assert data["previous_status"] == "received"
    assert data["shipments"] == [{"id": order["shipments"][0]["id"], "location_id": store, "status": "assigned", "lines": [{"gtin": gtin, "qty": 2}]}]


def test_one_webhook_per_change_whatever_the_journal_copies(client: TestClient, ops: dict[str, str], session: Session, store: str,
                                                            make_product: Callable[..., Any], stock_of: Callable[..., None]) -> None:
    """A click-and-collect order's routing is journalled for the pickup store and for the customer: one webhook."""
    gtin = make_product().gtin
    stock_of(store, gtin, 5)
    order = place(client, ops, store, {gtin: 1})
    assert types_of(session, order["id"]) == ["order.routed"]


def test_units_without_stock_are_order_partially_unfillable(client: TestClient, ops: dict[str, str], session: Session, store: str,
                                                            make_product: Callable[..., Any], stock_of: Callable[..., None]) -> None:
    some, none = make_product().gtin, make_product().gtin
    stock_of(store, some, 1)
    partial = home_order(client, ops, some, 3)
    assert partial["status"] == "partially_routed"
    [event] = outbox_of(session, order_id=partial["id"])
    assert event["type"] == "order.partially_unfillable"
    assert event["data"]["order"]["status"] == "partially_routed"
    assert event["data"]["unfilled"] == [{"gtin": some, "qty": 2}]
    assert [s["lines"] for s in event["data"]["shipments"]] == [[{"gtin": some, "qty": 1}]]
    nothing = home_order(client, ops, none, 4)
    [event] = outbox_of(session, order_id=nothing["id"])
    assert (event["type"], event["data"]["order"]["status"], event["data"]["unfilled"], event["data"]["shipments"]) == (
        "order.partially_unfillable", "unfillable", [{"gtin": none, "qty": 4}], [])


def test_shipment_shipped_carries_the_sscc(session: Session, store: str, make_product: Callable[..., Any]) -> None:
    gtin = make_product().gtin
    delivered = deliver(session, store, [(gtin, 2, "19.90")])
    [shipped] = outbox_of(session, order_id=delivered.order_id, type_="shipment.shipped")
    [parcel] = session.scalars(select(Parcel).where(Parcel.shipment_id == delivered.shipment_id))
    assert shipped["data"]["sscc"] == parcel.sscc and len(parcel.sscc) == 18
    assert shipped["data"]["parcels"] == [{"sscc": parcel.sscc, "carrier_ref": None}]
    assert shipped["data"]["shipment"] == {"id": delivered.shipment_id, "location_id": store, "status": "shipped", "lines": [{"gtin": gtin, "qty": 2}]}
    assert shipped["data"]["order"]["external_id"] == delivered.external_id
    assert types_of(session, delivered.order_id) == ["order.routed", "shipment.shipped"]


def test_ready_for_pickup_carries_the_code_and_collected_follows(session: Session, store: str, make_product: Callable[..., Any]) -> None:
    gtin = make_product().gtin
    delivered = deliver(session, store, [(gtin, 1, "9.90")], pickup=True)
    collect(session, delivered)
    order = session.get(Order, delivered.order_id)
    assert order is not None and order.pickup_code is not None
    [ready] = outbox_of(session, order_id=delivered.order_id, type_="shipment.ready_for_pickup")
    data = ready["data"]
    assert data["pickup_code"] == order.pickup_code and data["pickup_code_display"] and data["qr_payload"]
    assert data["store"]["id"] == store and data["store"]["name"] == "Paris Rivoli"
    assert data["shipment"] == {"id": delivered.shipment_id, "lines": [{"gtin": gtin, "qty": 1}]}
    assert datetime.fromisoformat(data["expires_at"]) - datetime.fromisoformat(data["ready_at"]) == timedelta(days=3)
    assert data["order"]["status"] == "ready_for_pickup"
    [collected] = outbox_of(session, order_id=delivered.order_id, type_="order.collected")
    assert collected["data"]["order"]["status"] == "collected" and collected["data"]["previous_status"] == "ready_for_pickup"
    assert types_of(session, delivered.order_id) == ["order.routed", "shipment.ready_for_pickup", "order.collected"]
    # The code travels in the customer's notices only.
    for event in outbox_of(session, order_id=delivered.order_id):
        assert (order.pickup_code in json.dumps(event)) == (event["type"] == "shipment.ready_for_pickup"), event["type"]


def test_reminder_then_expiry_then_the_order_cancelled_not_collected(
    client: TestClient, ops: dict[str, str], auth: Callable[..., dict[str, str]], session: Session, session_factory: sessionmaker[Session],
    store: str, make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> None:
    gtin = make_product().gtin
    stock_of(store, gtin, 4)
    epcs = tag(session, store, gtin, 2)
    order = place(client, ops, store, {gtin: 2})
    picker = auth("picker", store)
    verified(client, picker, session, order["shipments"][0], epcs)
    answer = client.post(f"/api/v1/shipments/{order['shipments'][0]['id']}/ready", headers=picker)
    assert answer.status_code == 200, answer.text
    expires = datetime.fromisoformat(answer.json()["expires_at"])
    code = client.get(f"/api/v1/orders/{order['id']}", headers=ops).json()["pickup"]["code"]
    assert sweep(session_factory, expires - timedelta(hours=23), 24).reminded
    [reminder] = outbox_of(session, order_id=order["id"], type_="pickup.reminder")  # the store's copy makes no webhook
    assert reminder["data"]["pickup_code"] == code and datetime.fromisoformat(reminder["data"]["expires_at"]) == expires
    assert reminder["data"]["expires_at"].endswith("Z")
    assert reminder["data"]["store"]["id"] == store
    assert sweep(session_factory, expires + timedelta(minutes=1), 24).expired
    [expired] = outbox_of(session, order_id=order["id"], type_="pickup.expired")
    assert expired["data"]["reason"] == "not_collected" and expired["data"]["store_id"] == store
    assert expired["data"]["shipment"]["lines"] == [{"gtin": gtin, "qty": 2}]
    assert code not in json.dumps(expired)
    [cancelled] = outbox_of(session, order_id=order["id"], type_="order.cancelled")
    assert cancelled["data"]["reason"] == "not_collected" and cancelled["data"]["order"]["status"] == "cancelled"
    assert types_of(session, order["id"]) == ["order.routed", "shipment.ready_for_pickup", "pickup.reminder", "pickup.expired", "order.cancelled"]


def test_order_cancelled_carries_the_reason_and_a_retry_adds_nothing(
    client: TestClient, ops: dict[str, str], session: Session, store: str, make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> None:
    gtin = make_product().gtin
    stock_of(store, gtin, 5)
    order = home_order(client, ops, gtin, 2)
    for _ in range(2):
        answer = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=ops, json={"reason": "customer changed their mind"})
        assert answer.status_code == 200, answer.text
    [cancelled] = outbox_of(session, order_id=order["id"], type_="order.cancelled")
    assert cancelled["data"]["reason"] == "customer changed their mind"
    assert cancelled["data"]["previous_status"] == "routed" and cancelled["data"]["cancelled_at"]


def test_return_received_carries_the_refund_due(client: TestClient, ops: dict[str, str], session: Session, store: str,
                                                make_product: Callable[..., Any]) -> None:
    shirt = make_product().gtin
    delivered = deliver(session, store, [(shirt, 2, "19.90")])
    body = {"external_id": f"RET-{next_number()}", "location_id": store, "order_id": delivered.order_id,
            "items": [{"gtin": shirt, "qty": 1, "grade": "resellable", "reason": "too_small"}]}
    answer = client.post("/api/v1/returns", headers=ops, json=body)
    assert answer.status_code == 201, answer.text
    [received] = outbox_of(session, order_id=delivered.order_id, type_="return.received")
    assert received["data"]["return"]["refund_due"] == "19.90" and received["data"]["return"]["currency"] == "EUR"
    assert received["data"]["return"]["external_id"] == body["external_id"]
    assert received["data"]["return"]["items"] == [{"gtin": shirt, "epc": None, "qty": 1, "grade": "resellable", "reason": "too_small"}]
    assert client.post("/api/v1/returns", headers=ops, json=body).status_code == 200  # the same return again: nothing new
    assert len(outbox_of(session, order_id=delivered.order_id, type_="return.received")) == 1


def test_availability_changes_once_per_bucket_change_of_a_store(
    client: TestClient, ops: dict[str, str], session: Session, store: str, make_location: Callable[..., Any],
    make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> None:
    gtin = make_product().gtin
    key = f"availability:{store}:{gtin}"

    def buckets() -> list[tuple[str, str]]:
        return [(e["data"]["previous_bucket"], e["data"]["bucket"]) for e in outbox_of(session, key=key)]

    stock_of(store, gtin, 2)  # 0 -> 2 available
    assert buckets() == [("out_of_stock", "limited_availability")]
    stock_of(store, gtin, 5)  # 7
    stock_of(store, gtin, -1)  # 6: still in stock
    assert buckets() == [("out_of_stock", "limited_availability"), ("limited_availability", "in_stock")]
    home_order(client, ops, gtin, 4)  # reserved: 2 left
    assert buckets()[-1] == ("in_stock", "limited_availability")
    answer = client.put(f"/api/v1/stock/{store}/{gtin}/safety", headers=ops, json={"safety": 2})  # held back: 0 to sell
    assert answer.status_code == 200, answer.text
    assert buckets()[-1] == ("limited_availability", "out_of_stock")
    [event] = outbox_of(session, key=key)[-1:]
    assert event["type"] == "availability.changed" and event["data"] == {
        "location_id": store, "gtin": gtin, "bucket": "out_of_stock", "previous_bucket": "limited_availability"}
    assert len(buckets()) == 4
    warehouse = make_location(kind=LocationKind.WAREHOUSE, capacity_per_day=None).id
    stock_of(warehouse, gtin, 50)
    assert outbox_of(session, key=f"availability:{warehouse}:{gtin}") == []  # coarse, for store feeds only


def test_a_failed_request_writes_no_event(client: TestClient, ops: dict[str, str], session: Session, store: str,
                                          make_product: Callable[..., Any]) -> None:
    delivered = deliver(session, store, [(make_product().gtin, 1, None)])
    before = outbox_of(session, order_id=delivered.order_id)
    refused = client.post(f"/api/v1/orders/{delivered.order_id}/cancel", headers=ops, json={"reason": "too late"})
    assert refused.status_code == 409, refused.text
    assert outbox_of(session, order_id=delivered.order_id) == before


def test_a_rolled_back_change_takes_its_event_along(session: Session, store: str, make_product: Callable[..., Any]) -> None:
    gtin = make_product().gtin
    delivered = deliver(session, store, [(gtin, 1, None)], pickup=True)
    pickups.ready(session, delivered.shipment_id, OPS)  # the change and its event, not committed
    assert [e.type for e in session.new if isinstance(e, WebhookEvent)] == ["shipment.ready_for_pickup"]
    session.rollback()
    assert outbox_of(session, order_id=delivered.order_id, type_="shipment.ready_for_pickup") == []
    pickups.ready(session, delivered.shipment_id, OPS)
    session.commit()
    assert len(outbox_of(session, order_id=delivered.order_id, type_="shipment.ready_for_pickup")) == 1


def test_a_savepoint_undone_takes_its_event_along(session: Session, store: str, make_product: Callable[..., Any]) -> None:
    gtin = make_product().gtin
    cause = stock.Cause(StockCause.SYSTEM, actor="test", reason="receipt")
    with pytest.raises(RuntimeError), session.begin_nested():
        stock.adjust(session, store, gtin, cause, delta=10)
        assert session.scalars(select(WebhookEvent).where(WebhookEvent.ordering_key == f"availability:{store}:{gtin}")).all()  # flushed
        raise RuntimeError("undo")
    session.commit()
    assert outbox_of(session, key=f"availability:{store}:{gtin}") == []
    stock.adjust(session, store, gtin, cause, delta=10)
    session.commit()
    assert [e["data"]["bucket"] for e in outbox_of(session, key=f"availability:{store}:{gtin}")] == ["in_stock"]


def test_a_payload_too_large_leaves_its_lists_out(session: Session) -> None:
    lines = [{"gtin": f"{i:014d}", "qty": 1} for i in range(600)]
    event = outbox.publish(session, "order.routed", {"order": {"id": 1}, "shipments": [{"id": 1, "lines": lines}], "note": "kept"})
    body = json.loads(event.body)
    assert len(event.body.encode()) <= outbox.MAX_BODY_BYTES
    assert body["data"] == {"order": {"id": 1}, "note": "kept", "truncated": True, "omitted": ["shipments"]}
    small = outbox.publish(session, "order.routed", {"order": {"id": 1}, "shipments": [{"id": 1, "lines": lines[:3]}]})
    assert "truncated" not in json.loads(small.body)["data"]
    with pytest.raises(ValueError):
        outbox.publish(session, "order.shipped", {})
    session.rollback()


def test_rfid_bulk_receipts_change_availability_too(session: Session, store: str, make_product: Callable[..., Any]) -> None:
    """Reader receipts applied in bulk (fulfil.ingest.bulk, beside stock.service.move) publish the bucket change once."""
    from fulfil.ingest.bulk import receive_new_tags
    from fulfil.ingest.config import zone_kind
    from fulfil.ingest.outcomes import Site
    from rfid.epc import encode_sgtin96
    from rfid.facts import TagArrived

    gtin = make_product().gtin
    zones = {f"{store}/receiving": (store, "receiving", zone_kind("receiving"))}
    site = Site(zones, "loss", lambda key: frozenset())
    at = datetime(2026, 3, 5, 14, 0).astimezone()
    facts = [(TagArrived(encode_sgtin96(gtin, 700_000 + i, 7), f"{store}/receiving", at), "r1") for i in range(5)]
    _effects, handled = receive_new_tags(session, list(facts), site)
    assert len(handled) == 5
    session.commit()
    [event] = outbox_of(session, key=f"availability:{store}:{gtin}")
    assert (event["data"]["previous_bucket"], event["data"]["bucket"]) == ("out_of_stock", "in_stock")
    more = [(TagArrived(encode_sgtin96(gtin, 700_100 + i, 7), f"{store}/receiving", at), "r1") for i in range(3)]
    receive_new_tags(session, more, site)
    session.commit()
    assert len(outbox_of(session, key=f"availability:{store}:{gtin}")) == 1  # still in stock: nothing new

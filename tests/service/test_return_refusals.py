"""What cannot come back, and why: a tag never sold or shipped is refused and flagged (the flag outlives the refusal),
a till sale is not an order's item, items of two orders are two returns, units not delivered yet are not returned."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.models import DomainEvent, LocationKind, Order, RfidTag, TagAnomaly
from rfid.epc import encode_sgtin96
from tests.delivery import collect, deliver, tag_stock

URL = "/api/v1/returns"


@pytest.fixture()
def world(session: Session, make_location: Callable[..., Any], make_product: Callable[..., Any]) -> dict[str, Any]:
    store = make_location(kind=LocationKind.STORE, lat=48.86, lon=2.35).id
    walk_in = make_location(kind=LocationKind.STORE, lat=45.76, lon=4.83).id
    gtin = make_product().gtin
    return {"store": store, "walk_in": walk_in, "gtin": gtin, "order": deliver(session, store, [(gtin, 2, "10.00")])}


def _flags(session: Session, location: str) -> list[dict[str, Any]]:
    session.expire_all()
    return [e.data for e in session.scalars(select(DomainEvent).where(DomainEvent.kind == "return.refused_item", DomainEvent.location_id == location))]


def test_a_tag_never_sold_is_refused_and_the_flag_outlives_the_refusal(
    client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session, caplog: pytest.LogCaptureFixture,
) -> None:
    store, walk_in, gtin, order = world["store"], world["walk_in"], world["gtin"], world["order"]
    in_stock = tag_stock(session, store, gtin, 1)[0]
    session.commit()
    unknown = encode_sgtin96(gtin, 987654, 7)
    caplog.set_level(logging.WARNING, logger="fulfil.returns.service")
    sent = {"external_id": "RET-FAKE", "location_id": walk_in, "order_id": order.order_id, "items": [
        {"epc": order.epcs[gtin][0], "grade": "resellable", "reason": "too_small"},  # a real one: not taken either
        {"epc": in_stock, "grade": "resellable", "reason": "too_small"},
        {"epc": unknown, "grade": "damaged", "reason": "other"},
    ]}
    answer = client.post(URL, headers=ops, json=sent)
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["code"] == "not_sold"
    assert [(r["item"], r["epc"], r["code"]) for r in error["details"]["refused"]] == [(1, in_stock, "not_sold"), (2, unknown, "not_sold")]
    # Nothing of the return happened: the real item is still out with the customer, no stock moved.
    assert client.get(f"/api/v1/tags/{order.epcs[gtin][0]}", headers=ops).json()["state"] == "shipped"
    assert client.get(f"/api/v1/stock/{walk_in}/{gtin}", headers=ops).status_code == 404
    assert client.get(f"{URL}?order_id={order.order_id}", headers=ops).json() == []
    # ... but both EPCs are flagged where they were offered, and logged.
    flags = _flags(session, walk_in)
    assert [(f["epc"], f["gtin"], f["tag_state"], f["external_id"]) for f in flags] == [(in_stock, gtin, "in_stock", "RET-FAKE"), (unknown, gtin, None, "RET-FAKE")]
    anomalies = client.get(f"/api/v1/tags/{in_stock}", headers=ops).json()["anomalies"]
    assert [(a["location_id"], a["zone"], a["tag_state"]) for a in anomalies] == [(walk_in, "returns", "in_stock")]
    assert sum(1 for r in caplog.records if "refused and flagged" in r.getMessage()) == 2
    # Offered again: flagged again in the journal, one anomaly per tag version and location.
    assert client.post(URL, headers=ops, json=sent).status_code == 409
    assert len(_flags(session, walk_in)) == 4
    assert len(session.scalars(select(TagAnomaly).where(TagAnomaly.epc == in_stock)).all()) == 1


def test_a_till_sale_is_not_returned_through_an_order(client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session) -> None:
    store, gtin, order = world["store"], world["gtin"], world["order"]
    sold = tag_stock(session, store, gtin, 1)[0]
    session.commit()
    assert client.post("/api/v1/sales", headers=ops, json={"location_id": store, "epcs": [sold]}).json()[0]["outcome"] == "sold"
    answer = client.post(URL, headers=ops, json={"external_id": "RET-TILL", "location_id": store, "order_id": order.order_id,
                                                 "items": [{"epc": sold, "grade": "resellable", "reason": "changed_mind"}]})
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "not_from_an_order"), answer.text
    assert "till sales are not returned through orders" in answer.json()["error"]["message"]
    assert _flags(session, store) == []  # it was sold: nothing suspicious


def test_the_tags_name_their_order(client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session) -> None:
    store, walk_in, gtin, order = world["store"], world["walk_in"], world["gtin"], world["order"]
    second = deliver(session, store, [(gtin, 1, "10.00")])
    mixed = client.post(URL, headers=ops, json={"external_id": "RET-MIX", "location_id": walk_in, "items": [
        {"epc": order.epcs[gtin][0], "grade": "resellable", "reason": "other"}, {"epc": second.epcs[gtin][0], "grade": "resellable", "reason": "other"},
    ]})
    assert (mixed.status_code, mixed.json()["error"]["code"]) == (409, "several_orders"), mixed.text
    assert mixed.json()["error"]["details"]["refused"][0]["orders"] == [
        {"order_id": order.order_id, "epcs": [order.epcs[gtin][0]]}, {"order_id": second.order_id, "epcs": [second.epcs[gtin][0]]},
    ]
    wrong = client.post(URL, headers=ops, json={"external_id": "RET-WRONG", "location_id": walk_in, "order_id": order.order_id,
                                                "items": [{"epc": second.epcs[gtin][0], "grade": "resellable", "reason": "other"}]})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (409, "other_order"), wrong.text
    alone = client.post(URL, headers=ops, json={"external_id": "RET-TAGS", "location_id": walk_in, "items": [
        {"epc": e, "grade": "resellable", "reason": "other"} for e in order.epcs[gtin]]})
    assert alone.status_code == 201, alone.text
    assert (alone.json()["order_id"], alone.json()["refund_due"]) == (order.order_id, "20.00")


def test_a_pickup_code_names_the_order(client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session) -> None:
    order, gtin = world["order"], world["gtin"]
    row = session.get(Order, order.order_id)
    assert row is not None
    row.pickup_code = "K7Q2MX"  # set at intake by click and collect
    session.commit()
    item = [{"gtin": gtin, "grade": "damaged", "reason": "defective"}]
    unknown = client.post(URL, headers=ops, json={"external_id": "RET-CODE", "location_id": world["store"], "pickup_code": "NOPE", "items": item})
    assert unknown.status_code == 404, unknown.text
    found = client.post(URL, headers=ops, json={"external_id": "RET-CODE", "location_id": world["store"], "pickup_code": "K7Q2MX", "items": item})
    assert (found.status_code, found.json()["order_id"]) == (201, order.order_id), found.text
    quarantined = client.get(f"/api/v1/stock/{world['store']}/{gtin}", headers=ops).json()
    assert (quarantined["quarantined"], quarantined["available"]) == (1, 0)


def test_units_not_delivered_yet_do_not_come_back(client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session) -> None:
    """A click-and-collect parcel waiting at the store: its tags are packed, not sold (flagged if offered), its units
    not delivered (nothing to return by GTIN either)."""
    store, gtin = world["store"], world["gtin"]
    waiting = deliver(session, store, [(gtin, 1, "10.00")], pickup=True)
    by_tag = client.post(URL, headers=ops, json={"external_id": "RET-EARLY", "location_id": store, "order_id": waiting.order_id,
                                                 "items": [{"epc": waiting.epcs[gtin][0], "grade": "resellable", "reason": "other"}]})
    assert (by_tag.status_code, by_tag.json()["error"]["code"]) == (409, "not_sold"), by_tag.text
    by_gtin = client.post(URL, headers=ops, json={"external_id": "RET-EARLY", "location_id": store, "order_id": waiting.order_id,
                                                  "items": [{"gtin": gtin, "grade": "resellable", "reason": "other"}]})
    assert (by_gtin.status_code, by_gtin.json()["error"]["details"]["refused"][0]["delivered"]) == (409, 0)


def test_units_refused_at_the_handover_were_never_delivered(client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session) -> None:
    store, gtin = world["store"], world["gtin"]
    picked_up = deliver(session, store, [(gtin, 3, "10.00")], pickup=True)
    collect(session, picked_up, refused={gtin: 1})
    sold = client.get(f"/api/v1/tags/{picked_up.epcs[gtin][2]}", headers=ops).json()
    assert (sold["state"], sold["shipment_id"]) == ("sold", picked_up.shipment_id)  # handed over: sold, with its shipment
    too_many = client.post(URL, headers=ops, json={"external_id": "RET-CC", "location_id": store, "order_id": picked_up.order_id,
                                                   "items": [{"gtin": gtin, "qty": 3, "grade": "resellable", "reason": "too_large"}]})
    refused = too_many.json()["error"]["details"]["refused"][0]
    assert (too_many.status_code, refused["delivered"], refused["returnable"]) == (409, 2, 2)
    answer = client.post(URL, headers=ops, json={"external_id": "RET-CC", "location_id": store, "order_id": picked_up.order_id, "items": [
        {"epc": picked_up.epcs[gtin][2], "grade": "resellable", "reason": "too_large"}, {"gtin": gtin, "grade": "damaged", "reason": "defective"}]})
    assert answer.status_code == 201, answer.text
    assert answer.json()["refund_due"] == "20.00"
    tag = session.get(RfidTag, picked_up.epcs[gtin][2], populate_existing=True)
    assert tag is not None and (tag.state.value, tag.location_id, tag.shipment_id) == ("in_stock", store, None)


def test_tags_alone_that_name_no_order_are_refused_and_flagged(client: TestClient, ops: dict[str, str], world: dict[str, Any], session: Session) -> None:
    walk_in, gtin = world["walk_in"], world["gtin"]
    unknown = encode_sgtin96(gtin, 424242, 7)
    answer = client.post(URL, headers=ops, json={"external_id": "RET-ORPHAN", "location_id": walk_in,
                                                 "items": [{"epc": unknown, "grade": "resellable", "reason": "other"}] * 2})
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "not_sold"), answer.text
    assert [(f["epc"], f["tag_state"]) for f in _flags(session, walk_in)] == [(unknown, None)]  # listed twice, flagged once

"""Quarantine has exits: inspected units are disposed of (written off) or restored to sellable stock, by quantity or by
tag, exactly once per Idempotency-Key; never more than is quarantined."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fulfil.models import RfidTag
from tests.delivery import deliver

URL = "/api/v1/stock/quarantine"


@pytest.fixture()
def damaged(client: TestClient, ops: dict[str, str], session: Session, make_location: Callable[..., Any], make_product: Callable[..., Any]) -> dict[str, Any]:
    """Three units returned damaged to a store: one of them by its tag."""
    store, gtin = make_location().id, make_product().gtin
    order = deliver(session, store, [(gtin, 3, "30.00")])
    tagged = order.epcs[gtin][0]
    answer = client.post("/api/v1/returns", headers=ops, json={"external_id": "RET-DMG", "location_id": store, "order_id": order.order_id, "items": [
        {"epc": tagged, "grade": "damaged", "reason": "defective"}, {"gtin": gtin, "qty": 2, "grade": "damaged", "reason": "damaged_in_transit"}]})
    assert answer.status_code == 201, answer.text
    return {"store": store, "gtin": gtin, "tagged": tagged}


def level(client: TestClient, ops: dict[str, str], world: dict[str, Any]) -> tuple[int, int, int]:
    got = client.get(f"/api/v1/stock/{world['store']}/{world['gtin']}", headers=ops).json()
    return got["on_hand"], got["available"], got["quarantined"]


def test_restored_units_are_sellable_again_and_their_tags_in_stock(client: TestClient, ops: dict[str, str], damaged: dict[str, Any]) -> None:
    store, gtin, tagged = damaged["store"], damaged["gtin"], damaged["tagged"]
    assert level(client, ops, damaged) == (0, 0, 3)
    answer = client.post(URL, headers=ops, json={"location_id": store, "gtin": gtin, "action": "restore", "epcs": [tagged.lower()], "note": "only the tag was torn"})
    assert answer.status_code == 201, answer.text
    got = answer.json()
    assert (got["event"]["kind"], got["event"]["reason"], got["event"]["on_hand_delta"], got["event"]["quarantine_delta"]) == ("quarantine", "restored", 1, -1)
    assert (got["level"]["on_hand"], got["level"]["quarantined"], got["epcs"], got["replayed"]) == (1, 2, [tagged], False)
    tag = client.get(f"/api/v1/tags/{tagged}", headers=ops).json()
    assert (tag["state"], tag["location_id"]) == ("in_stock", store)
    assert client.post("/api/v1/sales", headers=ops, json={"location_id": store, "epcs": [tagged]}).json()[0]["outcome"] == "sold"
    by_qty = client.post(URL, headers=ops, json={"location_id": store, "gtin": gtin, "action": "restore", "qty": 1})
    assert by_qty.status_code == 201, by_qty.text
    assert level(client, ops, damaged) == (1, 1, 1)  # one sold, one restored, one still quarantined


def test_disposed_units_leave_the_books(client: TestClient, ops: dict[str, str], damaged: dict[str, Any], session: Session) -> None:
    store, gtin, tagged = damaged["store"], damaged["gtin"], damaged["tagged"]
    by_tag = client.post(URL, headers=ops, json={"location_id": store, "gtin": gtin, "action": "dispose", "epcs": [tagged]})
    assert by_tag.status_code == 201, by_tag.text
    assert (by_tag.json()["event"]["reason"], by_tag.json()["event"]["on_hand_delta"]) == ("disposed", 0)
    tag = session.get(RfidTag, tagged, populate_existing=True)
    assert tag is not None and (tag.state.value, tag.location_id) == ("quarantined", None)  # at no location: readers ignore it
    assert client.post(URL, headers=ops, json={"location_id": store, "gtin": gtin, "action": "dispose", "qty": 2}).status_code == 201
    assert level(client, ops, damaged) == (0, 0, 0)
    more = client.post(URL, headers=ops, json={"location_id": store, "gtin": gtin, "action": "dispose", "qty": 1})
    assert (more.status_code, more.json()["error"]["code"]) == (409, "insufficient_quarantine"), more.text
    assert (more.json()["error"]["details"]["quarantined"], more.json()["error"]["details"]["requested"]) == (0, 1)


def test_an_exit_applies_once_per_key(client: TestClient, ops: dict[str, str], damaged: dict[str, Any]) -> None:
    store, gtin = damaged["store"], damaged["gtin"]
    sent = {"location_id": store, "gtin": gtin, "action": "dispose", "qty": 2, "note": "crushed"}
    first = client.post(URL, headers={**ops, "Idempotency-Key": "insp-42"}, json=sent)
    again = client.post(URL, headers={**ops, "Idempotency-Key": "insp-42"}, json=sent)
    assert (first.status_code, again.status_code, again.json()["replayed"]) == (201, 200, True)
    assert again.json()["event"] == first.json()["event"]
    assert level(client, ops, damaged) == (0, 0, 1)
    other = client.post(URL, headers={**ops, "Idempotency-Key": "insp-42"}, json={**sent, "qty": 1})
    assert (other.status_code, other.json()["error"]["code"]) == (409, "idempotency_conflict")


def test_only_quarantined_tags_of_the_product_here_leave_quarantine(
    client: TestClient, ops: dict[str, str], damaged: dict[str, Any], make_location: Callable[..., Any],
) -> None:
    store, gtin, tagged = damaged["store"], damaged["gtin"], damaged["tagged"]
    elsewhere = client.post(URL, headers=ops, json={"location_id": make_location().id, "gtin": gtin, "action": "restore", "epcs": [tagged]})
    assert (elsewhere.status_code, elsewhere.json()["error"]["code"]) == (409, "not_quarantined_here"), elsewhere.text
    both = client.post(URL, headers=ops, json={"location_id": store, "gtin": gtin, "action": "restore", "qty": 1, "epcs": [tagged]})
    assert both.status_code == 422, both.text
    assert client.post(URL, headers=ops, json={"location_id": "NOWHERE", "gtin": gtin, "action": "restore", "qty": 1}).status_code == 404
    assert level(client, ops, damaged) == (0, 0, 3)

"""Curbside check-in: the customer says "I'm here" with the pickup code and no token; the store is alerted on its
live stream and gets a curbside task. The answer reveals only the store's name and whether the order is ready;
unknown and finished codes get the same answer, and guessing is refused (429) after a few failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fulfil.models import LocationKind
from fulfil.pickups.guard import FailedAttempts
from tests.click_and_collect import events, place, verified
from tests.factories import error_of


@pytest.fixture()
def pickup(
    client: TestClient, ops: dict[str, str], auth: Callable[..., dict[str, str]], make_location: Callable[..., Any],
    make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> dict[str, Any]:
    store = make_location(kind=LocationKind.STORE, name="Annecy Centre").id
    gtin = make_product().gtin
    stock_of(store, gtin, 3)
    order = place(client, ops, store, {gtin: 1})
    return {"store": store, "order": order, "code": order["pickup"]["code"], "picker": auth("picker", store)}


def checkin(client: TestClient, code: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(f"/api/v1/pickups/{code}/checkin", json=body)


def test_check_in_needs_no_token_and_alerts_the_store(client: TestClient, pickup: dict[str, Any], session: Session) -> None:
    answer = checkin(client, pickup["code"], {"bay": "3", "car": "blue Clio"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"store_name", "ready", "checked_in_at", "bay", "car", "note"}  # nothing about the order itself
    assert (body["store_name"], body["ready"], body["bay"], body["car"], body["note"]) == ("Annecy Centre", False, "3", "blue Clio", None)
    [alert] = events(session, pickup["order"]["id"], "pickup.checked_in")
    assert alert.location_id == pickup["store"]
    assert (alert.data["bay"], alert.data["car"], alert.data["external_id"], alert.data["updated"]) == ("3", "blue Clio", pickup["order"]["external_id"], False)
    order = client.get(f"/api/v1/orders/{pickup['order']['id']}", headers=pickup["picker"]).json()
    assert order["checked_in_at"] == body["checked_in_at"] and order["checkin"] == {"bay": "3", "car": "blue Clio"}


def test_the_store_stream_carries_the_check_in(client: TestClient, pickup: dict[str, Any]) -> None:
    checkin(client, pickup["code"], {"bay": "7"})
    stream = client.get(f"/api/v1/locations/{pickup['store']}/stream?from_start=true&max_seconds=0.5", headers=pickup["picker"])
    assert stream.status_code == 200
    assert "event: pickup\n" in stream.text and '"kind":"pickup.checked_in"' in stream.text and '"bay":"7"' in stream.text
    assert pickup["code"] not in stream.text


def test_checking_in_again_keeps_the_arrival_and_updates_the_bay(client: TestClient, pickup: dict[str, Any], session: Session) -> None:
    first = checkin(client, pickup["code"].lower(), {"bay": "3"}).json()
    same = checkin(client, pickup["code"], {"bay": "3"}).json()
    assert same == first
    assert len(events(session, pickup["order"]["id"], "pickup.checked_in")) == 1  # a repeat is no new alert
    moved = checkin(client, pickup["code"], {"bay": "5", "note": "boot is open"}).json()
    assert moved["checked_in_at"] == first["checked_in_at"] and moved["bay"] == "5"
    alerts = events(session, pickup["order"]["id"], "pickup.checked_in")
    assert [(a.data["bay"], a.data["updated"]) for a in alerts] == [("3", False), ("5", True)]


def test_a_ready_order_says_so_and_the_store_gets_a_curbside_task(client: TestClient, pickup: dict[str, Any], session: Session) -> None:
    def curbside() -> list[tuple[int, dict[str, Any]]]:
        tasks = client.get(f"/api/v1/stores/{pickup['store']}/tasks?kind=curbside", headers=pickup["picker"]).json()
        return [(t["order_id"], t["detail"]) for t in tasks]

    assert checkin(client, pickup["code"], {"bay": "2"}).json()["ready"] is False
    assert curbside() == []  # alerted on the stream, but nothing to bring out yet
    [shipment] = pickup["order"]["shipments"]
    verified(client, pickup["picker"], session, shipment)
    assert client.post(f"/api/v1/shipments/{shipment['id']}/ready", headers=pickup["picker"]).status_code == 200
    assert curbside() == [(pickup["order"]["id"], {"bay": "2"})]
    again = checkin(client, pickup["code"]).json()  # no body at all: "I'm here"
    assert again["ready"] is True and again["bay"] == "2"  # what was said before is kept
    assert len(events(session, pickup["order"]["id"], "pickup.checked_in")) == 1
    handed = client.post(f"/api/v1/shipments/{shipment['id']}/handover", headers=pickup["picker"], json={"pickup_code": pickup["code"]})
    assert handed.status_code == 200 and curbside() == []


def test_unknown_and_finished_codes_get_the_same_answer(client: TestClient, ops: dict[str, str], pickup: dict[str, Any], session: Session) -> None:
    unknown = checkin(client, "ZZZZ2222", {"bay": "1"})
    [shipment] = pickup["order"]["shipments"]
    verified(client, pickup["picker"], session, shipment)
    client.post(f"/api/v1/shipments/{shipment['id']}/ready", headers=pickup["picker"])
    handed = client.post(f"/api/v1/shipments/{shipment['id']}/handover", headers=pickup["picker"], json={"pickup_code": pickup["code"]})
    assert handed.status_code == 200
    finished = checkin(client, pickup["code"], {"bay": "1"})
    assert unknown.status_code == finished.status_code == 404
    assert error_of(unknown) == error_of(finished)
    assert events(session, pickup["order"]["id"], "pickup.checked_in") == []


def test_guessing_is_refused_for_a_while(app: Any, client: TestClient, pickup: dict[str, Any]) -> None:
    app.state.pickup_guard = FailedAttempts(max_failures=3, window_seconds=600)
    for n in range(3):
        assert checkin(client, f"GUESS{n:03d}").status_code == 404
    refused = checkin(client, "GUESS999")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_requests", refused.text
    assert 1 <= int(refused.headers["retry-after"]) <= 600
    # While refused, even the right code is not looked at: a guesser learns nothing from the answer.
    assert checkin(client, pickup["code"]).status_code == 429


def test_bad_codes_and_bodies_are_refused_before_any_look_up(app: Any, client: TestClient) -> None:
    app.state.pickup_guard = FailedAttempts(max_failures=1, window_seconds=600)
    assert checkin(client, "not/a/code").status_code == 401  # no such public route: a token is asked for
    assert checkin(client, "x" * 40).status_code == 422
    assert checkin(client, "ABCD2345", {"bay": "x" * 17}).status_code == 422
    assert checkin(client, "ABCD2345", {"plate": "AB-123-CD"}).status_code == 422
    assert checkin(client, "ABCD2345").status_code == 404  # malformed requests did not count as guesses
    assert checkin(client, "ABCD2345").status_code == 429


def test_only_the_check_in_is_public(client: TestClient, pickup: dict[str, Any]) -> None:
    other_method = client.get(f"/api/v1/pickups/{pickup['code']}/checkin")
    assert other_method.status_code == 405 and other_method.headers["allow"] == "POST"
    assert client.post(f"/api/v1/pickups/{pickup['code']}/checkout").status_code == 401
    assert client.get("/api/v1/pickups").status_code == 401


def test_failed_attempts_slide_out_of_the_window() -> None:
    guard = FailedAttempts(max_failures=2, window_seconds=100, max_keys=2)
    guard.failed("a", 0)
    assert guard.retry_after("a", 1) is None
    guard.failed("a", 10)
    assert guard.retry_after("a", 11) == 89  # until the first failure is 100 s old
    assert guard.retry_after("b", 11) is None  # per address
    assert guard.retry_after("a", 100) is None  # the first one left the window
    guard.failed("b", 101)
    guard.failed("c", 102)  # a third address: the least recent is forgotten (memory stays bounded)
    assert guard.retry_after("a", 103) is None

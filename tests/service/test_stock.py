"""The stock rules: availability, reservations, adjustments, safety stock, the event log, idempotency."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.errors import InsufficientStock
from fulfil.models import AppendOnlyViolation, StockCause, StockEvent, StockEventKind, StockLevel
from fulfil.stock import service
from fulfil.stock.rules import available

CAUSE = service.Cause(StockCause.ORDER, actor="test")


@pytest.mark.parametrize(
    ("on_hand", "reserved", "safety", "expected"),
    [(10, 0, 0, 10), (10, 3, 2, 5), (5, 3, 2, 0), (3, 2, 5, 0), (0, 0, 0, 0)],
)
def test_available_is_on_hand_minus_reserved_minus_safety_never_negative(on_hand: int, reserved: int, safety: int, expected: int) -> None:
    assert available(on_hand, reserved, safety) == expected


@pytest.fixture()
def item(make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None]) -> tuple[str, str]:
    loc, gtin = make_location().id, make_product().gtin
    stock_of(loc, gtin, 10, safety=2)
    return loc, gtin


def level(session: Session, loc: str, gtin: str) -> StockLevel:
    row = session.get(StockLevel, (loc, gtin), populate_existing=True)
    assert row is not None
    return row


def test_reserve_up_to_available_then_refuse(session: Session, item: tuple[str, str]) -> None:
    loc, gtin = item
    service.reserve(session, loc, gtin, 5, CAUSE)
    service.reserve(session, loc, gtin, 3, CAUSE)
    with pytest.raises(InsufficientStock) as refused:
        service.reserve(session, loc, gtin, 1, CAUSE)
    assert refused.value.details["available"] == 0
    assert (level(session, loc, gtin).on_hand, level(session, loc, gtin).reserved) == (10, 8)


def test_reserve_unknown_pair_is_refused(session: Session, make_location: Callable[..., Any], make_product: Callable[..., Any]) -> None:
    with pytest.raises(InsufficientStock):
        service.reserve(session, make_location().id, make_product().gtin, 1, CAUSE)


def test_release_and_consume(session: Session, item: tuple[str, str]) -> None:
    loc, gtin = item
    service.reserve(session, loc, gtin, 4, CAUSE)
    service.release(session, loc, gtin, 1, CAUSE)
    service.consume_reserved(session, loc, gtin, 3, StockEventKind.SHIPMENT, CAUSE)
    row = level(session, loc, gtin)
    assert (row.on_hand, row.reserved, row.safety) == (7, 0, 2)
    with pytest.raises(InsufficientStock):
        service.release(session, loc, gtin, 1, CAUSE)  # nothing reserved any more


def test_adjust_cannot_go_below_reserved(session: Session, item: tuple[str, str]) -> None:
    loc, gtin = item
    service.reserve(session, loc, gtin, 6, CAUSE)
    manual = service.Cause(StockCause.MANUAL, actor="ops:t", reason="damage")
    with pytest.raises(Exception) as refused:
        service.adjust(session, loc, gtin, manual, delta=-5)
    assert getattr(refused.value, "status_code", None) == 409
    service.adjust(session, loc, gtin, manual, delta=-4)
    assert level(session, loc, gtin).on_hand == 6


def test_every_change_is_logged_with_its_cause_and_the_log_explains_the_level(session: Session, item: tuple[str, str]) -> None:
    loc, gtin = item
    service.reserve(session, loc, gtin, 2, service.Cause(StockCause.ORDER, actor="t", order_id=None))
    events = session.scalars(select(StockEvent).where(StockEvent.location_id == loc, StockEvent.gtin == gtin).order_by(StockEvent.id)).all()
    assert [e.kind for e in events] == [StockEventKind.RECEIPT, StockEventKind.SAFETY, StockEventKind.RESERVATION]
    row = level(session, loc, gtin)
    assert sum(e.on_hand_delta for e in events) == row.on_hand
    assert sum(e.reserved_delta for e in events) == row.reserved
    assert sum(e.safety_delta for e in events) == row.safety
    assert events[-1].on_hand_after == row.on_hand and events[-1].reserved_after == row.reserved


def test_stock_events_are_append_only(session: Session, item: tuple[str, str]) -> None:
    event = session.scalars(select(StockEvent)).first()
    assert event is not None
    event.note = "rewritten history"
    with pytest.raises(AppendOnlyViolation):
        session.flush()
    session.rollback()
    event = session.scalars(select(StockEvent)).first()
    session.delete(event)
    with pytest.raises(AppendOnlyViolation):
        session.flush()
    session.rollback()


def test_same_idempotency_key_applies_once(session: Session, item: tuple[str, str]) -> None:
    loc, gtin = item
    first = service.reserve(session, loc, gtin, 1, CAUSE, idempotency_key="reader:evt-1")
    again = service.reserve(session, loc, gtin, 1, CAUSE, idempotency_key="reader:evt-1")
    assert first.created and not again.created
    assert again.event.id == first.event.id
    assert level(session, loc, gtin).reserved == 1


def test_safety_stock_holds_units_back(session: Session, item: tuple[str, str]) -> None:
    loc, gtin = item
    manual = service.Cause(StockCause.MANUAL, actor="ops:t")
    service.set_safety(session, loc, gtin, 9, manual)
    service.reserve(session, loc, gtin, 1, CAUSE)
    with pytest.raises(InsufficientStock):
        service.reserve(session, loc, gtin, 1, CAUSE)


# ---------------------------------------------------------------- through the API


def test_api_adjustment_with_idempotency_key(client: TestClient, ops: dict[str, str], item: tuple[str, str]) -> None:
    loc, gtin = item
    body = {"location_id": loc, "gtin": gtin, "delta": 5, "reason": "receipt", "note": "delivery 42"}
    first = client.post("/api/v1/stock/adjustments", headers={**ops, "Idempotency-Key": "k-1"}, json=body)
    assert first.status_code == 201, first.text
    assert first.json()["level"] == {**first.json()["level"], "on_hand": 15, "available": 13}
    retry = client.post("/api/v1/stock/adjustments", headers={**ops, "Idempotency-Key": "k-1"}, json=body)
    assert retry.status_code == 200 and retry.json()["replayed"] is True
    assert client.get(f"/api/v1/stock/{loc}/{gtin}", headers=ops).json()["on_hand"] == 15
    events = client.get(f"/api/v1/stock/events?location_id={loc}&gtin={gtin}", headers=ops).json()
    assert events[-1]["kind"] == "receipt" and events[-1]["note"] == "delivery 42" and events[-1]["actor"].startswith("ops:")


@pytest.mark.parametrize("change", [{"delta": 6}, {"note": "delivery 43"}, {"reason": "return"}, {"delta": None, "set_on_hand": 15}])
def test_an_idempotency_key_reused_for_another_adjustment_is_409(
    client: TestClient, ops: dict[str, str], item: tuple[str, str], change: dict[str, Any]
) -> None:
    loc, gtin = item
    body = {"location_id": loc, "gtin": gtin, "delta": 5, "reason": "receipt", "note": "delivery 42"}
    assert client.post("/api/v1/stock/adjustments", headers={**ops, "Idempotency-Key": "k-2"}, json=body).status_code == 201
    other = {k: v for k, v in {**body, **change}.items() if v is not None}
    reused = client.post("/api/v1/stock/adjustments", headers={**ops, "Idempotency-Key": "k-2"}, json=other)
    assert reused.status_code == 409, reused.text
    assert reused.json()["error"]["code"] == "idempotency_conflict"
    assert client.get(f"/api/v1/stock/{loc}/{gtin}", headers=ops).json()["on_hand"] == 15  # applied once, never twice


def test_a_count_retried_with_its_key_is_a_replay(client: TestClient, ops: dict[str, str], item: tuple[str, str]) -> None:
    loc, gtin = item
    body = {"location_id": loc, "gtin": gtin, "set_on_hand": 7, "reason": "count"}
    assert client.post("/api/v1/stock/adjustments", headers={**ops, "Idempotency-Key": "c-1"}, json=body).status_code == 201
    retry = client.post("/api/v1/stock/adjustments", headers={**ops, "Idempotency-Key": "c-1"}, json=body)
    assert retry.status_code == 200 and retry.json()["replayed"] is True


def test_api_count_sets_on_hand(client: TestClient, ops: dict[str, str], item: tuple[str, str]) -> None:
    loc, gtin = item
    response = client.post("/api/v1/stock/adjustments", headers=ops, json={"location_id": loc, "gtin": gtin, "set_on_hand": 4, "reason": "count"})
    assert response.status_code == 201
    assert response.json()["event"]["on_hand_delta"] == -6
    assert response.json()["level"]["on_hand"] == 4


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"delta": 1, "set_on_hand": 1}, "body"),
        ({"delta": 0}, "body.delta"),  # the field itself: not 0 is a rule of delta
        ({"delta": 1, "reason": "vibes"}, "body.reason"),
        ({"delta": 1, "gtin": "12345678901234"}, "body.gtin"),
        ({"set_on_hand": -1}, "body.set_on_hand"),
    ],
)
def test_api_adjustment_rejects_bad_input_naming_the_field(client: TestClient, ops: dict[str, str], item: tuple[str, str], body: dict[str, Any], field: str) -> None:
    loc, gtin = item
    full = {"location_id": loc, "gtin": gtin, "reason": "count", **body}
    response = client.post("/api/v1/stock/adjustments", headers=ops, json=full)
    assert response.status_code == 422, response.text
    assert any(d["field"] == field for d in response.json()["error"]["details"])


def test_api_adjustment_below_zero_is_409(client: TestClient, ops: dict[str, str], item: tuple[str, str]) -> None:
    loc, gtin = item
    response = client.post("/api/v1/stock/adjustments", headers=ops, json={"location_id": loc, "gtin": gtin, "delta": -11, "reason": "theft"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_stock"
    assert response.json()["error"]["details"]["on_hand"] == 10


def test_api_unknown_location_is_404(client: TestClient, ops: dict[str, str], item: tuple[str, str]) -> None:
    _, gtin = item
    response = client.post("/api/v1/stock/adjustments", headers=ops, json={"location_id": "NOPE", "gtin": gtin, "delta": 1, "reason": "count"})
    assert response.status_code == 404


def test_api_query_stock_by_gtin_across_locations(client: TestClient, ops: dict[str, str], make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None]) -> None:
    gtin = make_product().gtin
    a, b = make_location().id, make_location().id
    stock_of(a, gtin, 3)
    stock_of(b, gtin, 4, safety=1)
    rows = client.get(f"/api/v1/stock?gtin={gtin}", headers=ops).json()
    assert {(r["location_id"], r["available"]) for r in rows} == {(a, 3), (b, 3)}


def test_api_safety(client: TestClient, ops: dict[str, str], item: tuple[str, str]) -> None:
    loc, gtin = item
    response = client.put(f"/api/v1/stock/{loc}/{gtin}/safety", headers=ops, json={"safety": 4})
    assert response.status_code == 200
    assert response.json()["available"] == 6


def test_safety_above_what_is_on_the_shelf_is_reported_not_hidden(client: TestClient, ops: dict[str, str], item: tuple[str, str]) -> None:
    """Safety may be set before the stock arrives (a display minimum), and the level says how much of it is not there."""
    loc, gtin = item  # 10 on hand, 2 safety
    level = client.put(f"/api/v1/stock/{loc}/{gtin}/safety", headers=ops, json={"safety": 14}).json()
    assert (level["on_hand"], level["safety"], level["available"], level["safety_uncovered"]) == (10, 14, 0, 4)
    covered = client.put(f"/api/v1/stock/{loc}/{gtin}/safety", headers=ops, json={"safety": 3}).json()
    assert covered["safety_uncovered"] == 0 and covered["available"] == 7

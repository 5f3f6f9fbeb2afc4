"""The ops API of webhooks: register (the secret shown once), list and read (never the secret), change, disable and
enable, rotate the secret, delete; an endpoint's deliveries with their log, filtered; replays; bad input refused
with 422 naming the field, never a 500."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from fulfil.models import LocationKind
from fulfil.models.base import utcnow
from fulfil.webhooks import outbox
from fulfil.webhooks.dispatcher import Dispatcher
from tests.factories import next_number
from tests.webhooks.conftest import fast_settings
from tests.webhooks.receiver import Answer, Receiver

URL = "/api/v1/webhooks"


def register(client: TestClient, ops: dict[str, str], url: str = "https://shop.example.com/hooks", **body: Any) -> dict[str, Any]:
    answer = client.post(URL, headers=ops, json={"url": url, "event_types": ["order.routed", "order.cancelled"], **body})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def test_an_endpoint_is_registered_with_a_secret_shown_once(client: TestClient, ops: dict[str, str]) -> None:
    created = register(client, ops, description="shop notifications", event_types=["order.routed", "order.routed", "return.received"])
    assert created["event_types"] == ["order.routed", "return.received"]  # each once, in order
    assert created["status"] == "active" and created["description"] == "shop notifications"
    assert created["deliveries"] == {"pending": 0, "delivered": 0, "failed": 0}
    secret = created["secret"]
    assert secret.startswith("whsec_") and 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 64
    read = client.get(f"{URL}/{created['id']}", headers=ops)
    assert read.status_code == 200 and "secret" not in read.json() and secret not in read.text
    listed = client.get(URL, headers=ops)
    assert [e["id"] for e in listed.json()] == [created["id"]] and secret not in listed.text
    other = register(client, ops)
    assert other["secret"] != secret


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "ftp://shop.example.com/hooks"}, "body.url"),
    ({"url": "https://user:secret@shop.example.com/hooks"}, "body.url"),
    ({"url": "https://shop.example.com/hooks#frag"}, "body.url"),
    ({"url": "https://shop.example.com/a b"}, "body.url"),
    ({"url": "/relative/hooks"}, "body.url"),
    ({"url": "https://shop.example.com:70000/hooks"}, "body.url"),
    ({"event_types": []}, "body.event_types"),
    ({"event_types": ["order.shipped"]}, "body.event_types.0"),
    ({"event_types": ["order.routed"], "secret": "mine"}, "body.secret"),
])
def test_bad_endpoints_are_422_naming_the_field(client: TestClient, ops: dict[str, str], body: dict[str, Any], field: str) -> None:
    sent = {"url": "https://shop.example.com/hooks", "event_types": ["order.routed"], **body}
    answer = client.post(URL, headers=ops, json=sent)
    assert answer.status_code == 422, answer.text
    assert field in [d["field"] for d in answer.json()["error"]["details"]]


def test_an_endpoint_is_changed_disabled_enabled_and_deleted(client: TestClient, ops: dict[str, str]) -> None:
    created = register(client, ops, description="x")
    path = f"{URL}/{created['id']}"
    changed = client.patch(path, headers=ops, json={"url": "http://127.0.0.1:9/elsewhere", "event_types": ["availability.changed"],
                                                    "description": None})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["url"], changed.json()["event_types"], changed.json()["description"]) == (
        "http://127.0.0.1:9/elsewhere", ["availability.changed"], None)
    disabled = client.patch(path, headers=ops, json={"status": "disabled"}).json()
    assert disabled["status"] == "disabled" and disabled["disabled_reason"].startswith("disabled by ") and disabled["disabled_at"]
    enabled = client.patch(path, headers=ops, json={"status": "active"}).json()
    assert enabled["status"] == "active" and enabled["disabled_reason"] is None and enabled["disabled_at"] is None
    for bad in ({"url": None}, {"event_types": None}, {"status": "gone"}, {"url": "mailto:a@b.c"}):
        assert client.patch(path, headers=ops, json=bad).status_code == 422, bad
    deleted = client.delete(path, headers=ops)
    assert deleted.status_code == 200 and deleted.json()["id"] == created["id"]
    for method in ("GET", "PATCH", "DELETE"):
        assert client.request(method, path, headers=ops, json={}).status_code == 404
    assert client.get(f"{path}/deliveries", headers=ops).status_code == 404
    assert client.post(f"{path}/replay", headers=ops, json={"event_ids": ["evt_" + "1" * 32]}).status_code == 404


def test_a_rotation_shows_the_new_secret_once_and_keeps_the_old_one_for_the_grace(client: TestClient, ops: dict[str, str]) -> None:
    created = register(client, ops)
    before = utcnow()
    rotated = client.post(f"{URL}/{created['id']}/rotate-secret", headers=ops)  # no body: a day's grace
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] != created["secret"] and rotated.json()["secret"].startswith("whsec_")
    until = datetime.fromisoformat(rotated.json()["previous_secret_until"])
    assert before + timedelta(hours=23) < until < before + timedelta(hours=25)
    now = client.post(f"{URL}/{created['id']}/rotate-secret", headers=ops, json={"grace_seconds": 0}).json()
    assert now["previous_secret_until"] is None
    assert client.post(f"{URL}/{created['id']}/rotate-secret", headers=ops, json={"grace_seconds": 8 * 86_400}).status_code == 422


@pytest.mark.parametrize("body", [
    {"event_ids": ["evt_" + "1" * 32], "since": "2026-01-01T00:00:00Z"},
    {"event_ids": ["evt_" + "1" * 32], "until": "2026-01-01T00:00:00Z"},
    {"until": "2026-01-01T00:00:00Z"},
    {},
    {"event_ids": []},
    {"event_ids": ["evt_nope"]},
    {"since": "2026-01-01T00:00:00"},  # no time zone: which instant?
])
def test_bad_replays_are_422(client: TestClient, ops: dict[str, str], body: dict[str, Any]) -> None:
    created = register(client, ops)
    assert client.post(f"{URL}/{created['id']}/replay", headers=ops, json=body).status_code == 422


def test_a_time_range_outside_what_utc_can_write_replays_nothing(client: TestClient, ops: dict[str, str]) -> None:
    created = register(client, ops)
    answer = client.post(f"{URL}/{created['id']}/replay", headers=ops, json={"since": "0001-01-01T00:00:00+23:00", "until": "0001-01-02T00:00:00Z"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["requeued"] == answer.json()["created"] == 0
    backwards = client.post(f"{URL}/{created['id']}/replay", headers=ops, json={"since": "2030-01-01T00:00:00Z", "until": "2020-01-01T00:00:00Z"})
    assert backwards.status_code == 200 and backwards.json()["requeued"] == 0


def test_deliveries_are_listed_newest_first_with_their_log_and_filters(
    client: TestClient, ops: dict[str, str], session: Session, session_factory: sessionmaker[Session], make_location: Callable[..., Any],
    make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> None:
    """A dispatcher run in the test's own transaction (its requests go out from worker threads; every database step is
    in this thread) delivers to a real receiver; the API shows each delivery and its attempts."""
    store = make_location(kind=LocationKind.WAREHOUSE, capacity_per_day=None).id
    gtin = make_product().gtin
    stock_of(store, gtin, 10)
    with Receiver() as receiver:
        created = register(client, ops, url=receiver.url(), event_types=["order.routed", "order.cancelled"])
        receiver.secrets = [created["secret"]]
        orders = []
        for _ in range(2):
            answer = client.post("/api/v1/orders", headers=ops, json={"external_id": f"API-{next_number()}", "channel": "web",
                                                                     "ship_to": {"lat": 48.0, "lon": 2.0}, "lines": [{"gtin": gtin, "qty": 1}]})
            orders.append(answer.json()["id"])
        assert client.post(f"/api/v1/orders/{orders[1]}/cancel", headers=ops, json={"reason": "duplicate"}).status_code == 200
        receiver.plan = lambda r: Answer(status=500) if r.payload["type"] == "order.cancelled" else Answer()
        dispatcher = Dispatcher(session_factory, fast_settings())
        try:
            dispatcher.drain(timeout=30)
        finally:
            dispatcher.close(5)
        path = f"{URL}/{created['id']}/deliveries"
        listed = client.get(path, headers=ops).json()
        mine = [d for d in listed if d["event"]["order_id"] in orders]
        assert [(d["event"]["order_id"], d["event"]["type"]) for d in mine] == [
            (orders[1], "order.cancelled"), (orders[1], "order.routed"), (orders[0], "order.routed")]
        failing, first = mine[0], mine[2]
        assert failing["status"] == "pending" and failing["attempts"] == 1 and failing["last_status_code"] == 500
        assert failing["next_attempt_at"] is not None and failing["sending"] is False
        [attempt] = failing["log"]
        assert attempt["status_code"] == 500 and attempt["error"] == "HTTP 500" and attempt["duration_ms"] is not None
        assert first["status"] == "delivered" and first["next_attempt_at"] is None and first["delivered_at"]
        assert first["event"]["payload"]["type"] == "order.routed" and first["event"]["payload"]["data"]["order"]["id"] == orders[0]
        assert first["event"]["id"].startswith("evt_")
        assert [d["event"]["order_id"] for d in client.get(path, headers=ops, params={"order_id": orders[0]}).json()] == [orders[0]]
        assert [d["id"] for d in client.get(path, headers=ops, params={"status": "pending"}).json()] == [failing["id"]]
        assert [d["event"]["type"] for d in client.get(path, headers=ops, params={"event_type": "order.cancelled"}).json()] == ["order.cancelled"]
        by_id = client.get(path, headers=ops, params={"event_id": first["event"]["id"]}).json()
        assert [d["id"] for d in by_id] == [first["id"]]
        assert client.get(path, headers=ops, params={"event_type": "order.shipped"}).status_code == 422
        assert client.get(path, headers=ops, params={"event_id": "evt_x"}).status_code == 422
        counts = client.get(f"{URL}/{created['id']}", headers=ops).json()["deliveries"]
        assert counts["pending"] >= 1 and counts["delivered"] >= 2 and counts["failed"] == 0
        # Replay of an event of a type the endpoint does not take: skipped, and said so.
        event = outbox.publish(session, "availability.changed", {"test": "api"}, ordering_key=f"availability:{store}:api")
        session.commit()
        dispatcher = Dispatcher(session_factory, fast_settings())
        try:
            dispatcher.drain(timeout=30)
        finally:
            dispatcher.close(5)
        skipped = client.post(f"{URL}/{created['id']}/replay", headers=ops, json={"event_ids": [event.public_id]}).json()
        assert skipped["skipped"] == [{"event_id": event.public_id, "reason": "not_subscribed"}]


def test_prune_deletes_only_events_that_are_over(session: Session) -> None:
    """`fulfil webhooks prune`: events older than the cut-off whose deliveries all ended go, with their log; an event
    still pending for some endpoint, one never fanned out, and recent ones stay."""
    from sqlalchemy import func, select

    from fulfil.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
    from fulfil.webhooks import repository, signing

    old = utcnow() - timedelta(days=40)
    endpoint = WebhookEndpoint(url="https://shop.example.com/hooks", event_types=["order.routed"], secret=signing.new_secret())
    session.add(endpoint)
    events = [outbox.publish(session, "order.routed", {"n": i}, ordering_key=f"prune:{i}", occurred_at=old) for i in range(4)]
    recent = outbox.publish(session, "order.routed", {"n": 9}, ordering_key="prune:9")
    session.flush()
    for event, status in zip(events[:3], (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.PENDING), strict=True):
        event.fanned_out_at = old
        delivery = WebhookDelivery(endpoint_id=endpoint.id, event_id=event.id, status=status, attempts=1, attempt_count=1)
        session.add(delivery)
        session.flush()
        session.add(WebhookAttempt(delivery_id=delivery.id, number=1, dispatcher="test", started_at=old, duration_ms=3, status_code=200))
    recent.fanned_out_at = utcnow()
    session.flush()
    assert repository.prune(session, utcnow() - timedelta(days=30)) == 2  # the delivered and the failed one
    left = set(session.scalars(select(WebhookEvent.id).where(WebhookEvent.id.in_([e.id for e in [*events, recent]]))))
    assert left == {events[2].id, events[3].id, recent.id}  # pending somewhere, never fanned out, recent
    ids = [e.id for e in events[:2]]
    assert session.scalar(select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.event_id.in_(ids))) == 0
    assert session.scalar(select(func.count()).select_from(WebhookAttempt).where(WebhookAttempt.dispatcher == "test")) == 1
    session.rollback()

"""The dispatcher against a real receiver that verifies every request with the `standardwebhooks` package: signed
requests, the retry schedule walked with a stepped clock, Retry-After, redirects not followed, timeouts, refused and
dropped connections, 410 disabling an endpoint until it is enabled again, order per order, a bad endpoint that
stalls no other, replay, secret rotation, and the dispatcher inside `serve`. Data is committed for real (the
dispatcher's own transactions) and removed afterwards."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fulfil.app import create_app
from fulfil.auth.service import create_token
from fulfil.db import unit_of_work
from fulfil.models import DeliveryStatus, EndpointStatus, Role, WebhookAttempt, WebhookEndpoint, WebhookEvent
from fulfil.models.base import utcnow
from fulfil.orders import cancel
from fulfil.webhooks.dispatcher import JITTER, MAX_ATTEMPTS, RETRY_AFTER_MAX, SCHEDULE, DispatchLoop, Dispatcher
from tests.webhooks.conftest import OPS, Clock, World, fast_settings
from tests.webhooks.receiver import OK, Answer, Received, Receiver, free_port

Make = Callable[..., Dispatcher]


def mine(received: list[Received], ids: list[str]) -> list[Received]:
    wanted = set(ids)
    return [r for r in received if r.webhook_id in wanted]


def attempts(world: World, endpoint_id: int) -> dict[int, list[WebhookAttempt]]:
    """An endpoint's delivery log, per delivery."""
    ids = [d.id for d in world.deliveries(endpoint_id)]
    out: dict[int, list[WebhookAttempt]] = {}
    with world.factory() as s:
        for row in s.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)).order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)):
            out.setdefault(row.delivery_id, []).append(row)
    return out


def test_requests_are_signed_and_verify_with_an_independent_library(world: World, receiver: Receiver, dispatchers: Make) -> None:
    endpoint, secret = world.endpoint(receiver.url(), ["availability.changed"], receiver)
    ids = world.publish(3)
    dispatchers(world.factory).drain(timeout=30)
    got = mine(receiver.received, ids)
    assert sorted(r.webhook_id for r in got) == sorted(ids)
    assert all(r.verified and r.verified_with == secret for r in got)
    with world.factory() as s:
        bodies = {e.public_id: e.body for e in s.scalars(select(WebhookEvent).where(WebhookEvent.public_id.in_(ids)))}
    for r in got:
        assert r.body == bodies[r.webhook_id].encode()  # the exact bytes stored, signed as sent
        assert r.payload["type"] == "availability.changed" and r.payload["data"]["test"] == world.tag
        version, signature = r.signature.split(",", 1)
        assert version == "v1" and len(base64.b64decode(signature)) == 32
        assert abs(int(r.timestamp) - time.time()) < 60
    delivered = [world.delivery(endpoint, i) for i in ids]
    assert all(d.status is DeliveryStatus.DELIVERED for d in delivered)
    log = attempts(world, endpoint)
    for d in delivered:
        [attempt] = log[d.id]
        assert attempt.status_code == 200 and attempt.error is None and attempt.duration_ms is not None
        assert attempt.response_excerpt is not None and "received" in attempt.response_excerpt


def test_a_tampered_request_does_not_verify(receiver: Receiver) -> None:
    """The receiver's check is real: a wrong signature, body or stale timestamp is refused by standardwebhooks."""
    from fulfil.webhooks import signing

    secret = signing.new_secret()
    receiver.secrets = [secret]
    body = b'{"type":"order.routed"}'
    now = int(time.time())
    good = signing.headers([secret], "evt_" + "a" * 32, now, body)
    assert receiver.verify(body, good) == secret
    assert receiver.verify(body + b" ", good) is None
    assert receiver.verify(body, {**good, "webhook-id": "evt_" + "b" * 32}) is None
    assert receiver.verify(body, signing.headers([secret], "evt_" + "a" * 32, now - 3600, body)) is None
    assert receiver.verify(body, signing.headers([signing.new_secret()], "evt_" + "a" * 32, now, body)) is None


def test_retries_follow_the_schedule_with_jitter_then_the_delivery_fails(world: World, receiver: Receiver, dispatchers: Make,
                                                                         clock: Clock) -> None:
    endpoint, _ = world.endpoint(receiver.url(), ["availability.changed"], receiver)
    receiver.plan = lambda _r: Answer(status=500)
    [event] = world.publish(1)
    dispatcher = dispatchers(world.factory, now=clock)
    first = utcnow()
    clock.set(first)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        dispatcher.drain(timeout=30)
        assert receiver.ids().count(event) == attempt
        delivery = world.delivery(endpoint, event)
        assert delivery.attempts == attempt and delivery.last_status_code == 500
        if attempt == MAX_ATTEMPTS:
            assert delivery.status is DeliveryStatus.FAILED
            break
        assert delivery.status is DeliveryStatus.PENDING and delivery.last_error == "HTTP 500"
        wait = delivery.next_attempt_at - clock()
        expected = SCHEDULE[attempt - 1]
        assert expected * (1 - JITTER) - timedelta(seconds=1) <= wait <= expected * (1 + JITTER) + timedelta(seconds=1), (attempt, wait)
        clock.set(delivery.next_attempt_at - timedelta(seconds=1))
        dispatcher.drain(timeout=30)
        assert receiver.ids().count(event) == attempt  # not before its time
        clock.set(delivery.next_attempt_at)
    assert clock() - first >= timedelta(days=1) * (1 - JITTER) * 3  # about 75 hours: more than a day
    assert all(r.verified for r in mine(receiver.received, [event]))
    delivery = world.delivery(endpoint, event)
    assert delivery.status is DeliveryStatus.FAILED and len(attempts(world, endpoint)[delivery.id]) == MAX_ATTEMPTS
    clock.advance(timedelta(days=30))
    dispatcher.drain(timeout=30)
    assert receiver.ids().count(event) == MAX_ATTEMPTS  # dead: only a replay sends it again


@pytest.mark.parametrize(("status", "header", "at_least"), [
    (503, "3600", timedelta(hours=1)),
    (429, "http-date", timedelta(hours=2) - timedelta(seconds=5)),
    (503, str(10 * 86_400), RETRY_AFTER_MAX),
])
def test_retry_after_is_honoured(world: World, receiver: Receiver, dispatchers: Make, clock: Clock, status: int, header: str,
                                 at_least: timedelta) -> None:
    endpoint, _ = world.endpoint(receiver.url(), ["availability.changed"], receiver)
    clock.set(utcnow())
    value = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True) if header == "http-date" else header
    receiver.plan = lambda _r: Answer(status=status, headers={"Retry-After": value})
    [event] = world.publish(1)
    dispatchers(world.factory, now=clock).drain(timeout=30)
    delivery = world.delivery(endpoint, event)
    assert delivery.last_status_code == status
    wait = delivery.next_attempt_at - clock()
    assert at_least <= wait <= max(at_least, timedelta(hours=2)) + timedelta(minutes=1), wait
    assert receiver.ids().count(event) == 1


def test_a_redirect_is_a_failure_and_is_not_followed(world: World, receiver: Receiver, dispatchers: Make) -> None:
    endpoint, _ = world.endpoint(receiver.url("/old"), ["availability.changed"], receiver)
    receiver.plan = lambda r: Answer(status=301, headers={"Location": receiver.url("/new")}) if r.path == "/old" else OK
    [event] = world.publish(1)
    dispatchers(world.factory).drain(timeout=30)
    assert receiver.ids("/old").count(event) == 1 and receiver.ids("/new") == []
    delivery = world.delivery(endpoint, event)
    assert delivery.last_status_code == 301 and delivery.status is DeliveryStatus.PENDING and delivery.last_error == "HTTP 301"


def test_timeouts_refused_and_dropped_connections_are_retried_then_delivered(world: World, receiver: Receiver, dispatchers: Make,
                                                                            clock: Clock) -> None:
    hanging, _ = world.endpoint(receiver.url("/hang"), ["availability.changed"], receiver)
    dropping, _ = world.endpoint(receiver.url("/drop"), ["availability.changed"], receiver)
    refused, _ = world.endpoint(f"http://127.0.0.1:{free_port()}/nobody", ["availability.changed"], receiver)
    healthy = {"yes": False}

    def plan(r: Received) -> Answer:
        if healthy["yes"]:
            return OK
        return Answer(delay=3 * 1.0) if r.path == "/hang" else Answer(close=True)

    receiver.plan = plan
    [event] = world.publish(1)
    dispatcher = dispatchers(world.factory, now=clock)
    clock.set(utcnow())
    dispatcher.drain(timeout=30)
    errors = {}
    for endpoint in (hanging, dropping, refused):
        delivery = world.delivery(endpoint, event)
        assert delivery.status is DeliveryStatus.PENDING and delivery.attempts == 1 and delivery.last_status_code is None
        assert timedelta(seconds=4) <= delivery.next_attempt_at - clock() <= timedelta(seconds=6)
        errors[endpoint] = delivery.last_error or ""
    assert errors[hanging].startswith("timeout")
    assert "ConnectError" in errors[refused]
    assert errors[dropping] and not errors[dropping].startswith("timeout")
    healthy["yes"] = True
    clock.advance(timedelta(seconds=6))
    dispatcher.drain(timeout=30)
    for endpoint in (hanging, dropping):
        assert world.delivery(endpoint, event).status is DeliveryStatus.DELIVERED
    assert receiver.ids("/hang").count(event) == 2 and receiver.ids("/drop").count(event) == 2
    still = world.delivery(refused, event)
    assert still.status is DeliveryStatus.PENDING and still.attempts == 2


def test_a_hanging_endpoint_stalls_no_other(world: World, receiver: Receiver, dispatchers: Make) -> None:
    """Two requests (the per-endpoint limit) wait on the hanging endpoint; the healthy one gets everything meanwhile."""
    world.endpoint(receiver.url("/stuck"), ["availability.changed"], receiver)
    world.endpoint(receiver.url("/fine"), ["availability.changed"], receiver)
    receiver.plan = lambda r: Answer(hold=True) if r.path == "/stuck" else OK
    ids = world.publish(20)
    settings = fast_settings(webhook_timeout_seconds=10, webhook_lease_seconds=40)
    loop = DispatchLoop(dispatchers(world.factory, settings=settings), 0.05, stop_timeout=15)
    loop.start()
    try:
        receiver.wait_for(lambda got: set(ids) <= {r.webhook_id for r in got if r.path == "/fine"})
        stuck = [r for r in receiver.received if r.path == "/stuck"]
        assert 1 <= len(stuck) <= 2  # still held: no more were sent to it
    finally:
        receiver.release.set()
        loop.stop()


def test_410_disables_the_endpoint_until_it_is_enabled_again(world: World, receiver: Receiver, dispatchers: Make, engine: Any,
                                                             database_url: str) -> None:
    endpoint, _ = world.endpoint(receiver.url("/gone"), ["availability.changed"], receiver)
    receiver.plan = lambda _r: Answer(status=410)
    key = f"availability:{world.tag}:one-key"
    first = world.publish(1, key=key)
    dispatcher = dispatchers(world.factory)
    dispatcher.drain(timeout=30)
    with world.factory() as s:
        row = s.get(WebhookEndpoint, endpoint)
        assert row is not None and row.status is EndpointStatus.DISABLED and "410" in (row.disabled_reason or "")
    later = world.publish(2, key=key)
    dispatcher.drain(timeout=30)
    assert mine(receiver.received, first + later) and [r.webhook_id for r in mine(receiver.received, first + later)] == first  # no more
    assert [world.delivery(endpoint, i).status for i in first + later] == [DeliveryStatus.PENDING] * 3
    receiver.plan = lambda _r: OK
    app = create_app(fast_settings(database_url=database_url), engine=engine)
    with unit_of_work(world.factory) as s:
        token = create_token(s, role=Role.OPS, name=f"wh-{world.tag}").secret
    world.tokens.append(f"wh-{world.tag}")
    with TestClient(app) as client:
        seen = client.get(f"/api/v1/webhooks/{endpoint}", headers={"Authorization": f"Bearer {token}"}).json()
        assert seen["status"] == "disabled" and "410" in seen["disabled_reason"]
        enabled = client.patch(f"/api/v1/webhooks/{endpoint}", headers={"Authorization": f"Bearer {token}"}, json={"status": "active"})
        assert enabled.status_code == 200 and enabled.json()["disabled_reason"] is None
    dispatcher.drain(timeout=30)
    assert [r.webhook_id for r in mine(receiver.received, first + later)] == first + first + later  # the refused one, then the rest, in order


def test_the_events_of_one_order_arrive_in_order(world: World, receiver: Receiver, dispatchers: Make, clock: Clock) -> None:
    endpoint, _ = world.endpoint(receiver.url(), ["order.routed", "order.cancelled"], receiver)
    a, b = world.order(), world.order()
    for order_id in (a, b):
        with unit_of_work(world.factory) as s:
            cancel.cancel(s, order_id, "customer changed their mind", None, OPS, None)
    a_events, b_events = world.event_ids(a), world.event_ids(b)
    assert [t for _, t in a_events] == ["order.routed", "order.cancelled"]
    failures = {"left": 2}

    def plan(r: Received) -> Answer:
        if r.webhook_id == a_events[0][0] and failures["left"]:
            failures["left"] -= 1
            return Answer(status=500)
        return OK

    receiver.plan = plan
    dispatcher = dispatchers(world.factory, now=clock)
    clock.set(utcnow())
    dispatcher.drain(timeout=30)
    (a0, a1), (b0, b1) = [i for i, _ in a_events], [i for i, _ in b_events]
    got = [r.webhook_id for r in mine(receiver.received, [a0, a1, b0, b1])]
    assert sorted(got) == sorted([a0, b0, b1]) and got.index(b0) < got.index(b1)  # B flows; A's cancellation waits
    for _ in range(2):
        clock.advance(timedelta(hours=1))
        dispatcher.drain(timeout=30)
    got = [r.webhook_id for r in mine(receiver.received, [a0, a1, b0, b1])]
    assert got.count(a0) == 3 and got.count(a1) == 1 and got.count(b0) == got.count(b1) == 1
    assert got.index(a1) > max(i for i, x in enumerate(got) if x == a0)  # only once A's routing went through
    assert all(world.delivery(endpoint, i).status is DeliveryStatus.DELIVERED for i in (a0, a1, b0, b1))


def test_replay_sends_again_with_the_same_id(world: World, receiver: Receiver, dispatchers: Make, engine: Any, database_url: str,
                                            clock: Clock) -> None:
    early = world.publish(2)  # before the endpoint existed
    dispatcher = dispatchers(world.factory, now=clock)
    dispatcher.drain(timeout=30)  # fanned out to nobody
    endpoint, _ = world.endpoint(receiver.url(), ["availability.changed"], receiver)
    ids = world.publish(2)
    dispatcher.drain(timeout=30)
    assert set(receiver.ids()) >= set(ids) and not set(early) & set(receiver.ids())
    app = create_app(fast_settings(database_url=database_url), engine=engine)
    with unit_of_work(world.factory) as s:
        token = create_token(s, role=Role.OPS, name=f"wh-{world.tag}").secret
    world.tokens.append(f"wh-{world.tag}")
    ops = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        answer = client.post(f"/api/v1/webhooks/{endpoint}/replay", headers=ops, json={"event_ids": [ids[0], "evt_" + "0" * 32]})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"requeued": 1, "created": 0, "skipped": [{"event_id": "evt_" + "0" * 32, "reason": "unknown"}],
                                 "truncated": False, "last_occurred_at": None}
        dispatcher.drain(timeout=30)
        assert receiver.ids().count(ids[0]) == 2 and receiver.ids().count(ids[1]) == 1
        log = client.get(f"/api/v1/webhooks/{endpoint}/deliveries", headers=ops, params={"event_id": ids[0]}).json()
        assert [a["number"] for a in log[0]["log"]] == [1, 2] and log[0]["status"] == "delivered" and log[0]["attempts"] == 1
        # A time range: the earlier events it never had are queued for it now.
        since = (utcnow() - timedelta(minutes=5)).isoformat()
        ranged = client.post(f"/api/v1/webhooks/{endpoint}/replay", headers=ops, json={"since": since}).json()
        assert ranged["created"] >= 2 and ranged["requeued"] >= 2
        dispatcher.drain(timeout=30)
        assert all(receiver.ids().count(e) == 1 for e in early) and receiver.ids().count(ids[0]) == 3
        # A failed delivery is sent again by a replay.
        receiver.plan = lambda _r: Answer(status=500)
        [dead] = world.publish(1)
        clock.set(utcnow())
        for _ in range(12):
            dispatcher.drain(timeout=30)
            clock.advance(timedelta(days=2))
        failed = client.get(f"/api/v1/webhooks/{endpoint}/deliveries", headers=ops, params={"status": "failed"}).json()
        assert [d["event"]["id"] for d in failed] == [dead] and len(failed[0]["log"]) == MAX_ATTEMPTS
        receiver.plan = lambda _r: OK
        assert client.post(f"/api/v1/webhooks/{endpoint}/replay", headers=ops, json={"event_ids": [dead]}).json()["requeued"] == 1
        dispatcher.drain(timeout=30)
        again = client.get(f"/api/v1/webhooks/{endpoint}/deliveries", headers=ops, params={"event_id": dead}).json()[0]
        assert again["status"] == "delivered" and again["attempt_count"] == MAX_ATTEMPTS + 1
    assert all(r.verified for r in receiver.received)


def test_a_rotated_secret_signs_beside_the_old_one_for_the_grace_period(world: World, receiver: Receiver, dispatchers: Make,
                                                                        engine: Any, database_url: str) -> None:
    endpoint, old = world.endpoint(receiver.url(), ["availability.changed"], receiver)
    app = create_app(fast_settings(database_url=database_url), engine=engine)
    with unit_of_work(world.factory) as s:
        token = create_token(s, role=Role.OPS, name=f"wh-{world.tag}").secret
    world.tokens.append(f"wh-{world.tag}")
    ops = {"Authorization": f"Bearer {token}"}
    dispatcher = dispatchers(world.factory)
    with TestClient(app) as client:
        rotated = client.post(f"/api/v1/webhooks/{endpoint}/rotate-secret", headers=ops, json={"grace_seconds": 3600})
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        assert new != old and new.startswith("whsec_")
        receiver.secrets = [old]
        [first] = world.publish(1)
        dispatcher.drain(timeout=30)
        [got] = mine(receiver.received, [first])
        assert got.verified and len(got.signature.split(" ")) == 2
        assert receiver.verify(got.body, {"webhook-id": got.webhook_id, "webhook-timestamp": got.timestamp,
                                          "webhook-signature": got.signature}) == old
        receiver.secrets = [new]
        assert receiver.verify(got.body, {"webhook-id": got.webhook_id, "webhook-timestamp": got.timestamp,
                                          "webhook-signature": got.signature}) == new
        ended = client.post(f"/api/v1/webhooks/{endpoint}/rotate-secret", headers=ops, json={"grace_seconds": 0}).json()["secret"]
        receiver.secrets = [ended]
        [second] = world.publish(1)
        dispatcher.drain(timeout=30)
        [got] = mine(receiver.received, [second])
        assert got.verified and len(got.signature.split(" ")) == 1


def test_the_service_dispatcher_delivers_what_a_request_commits(world: World, receiver: Receiver, engine: Any, database_url: str) -> None:
    """`serve`'s dispatcher (started by the app's lifespan) sends an order's webhook once the request has committed."""
    world.endpoint(receiver.url(), ["order.routed"], receiver)
    app = create_app(fast_settings(database_url=database_url, webhook_dispatch_interval_seconds=0.2), engine=engine)
    with unit_of_work(world.factory) as s:
        token = create_token(s, role=Role.OPS, name=f"wh-{world.tag}").secret
    world.tokens.append(f"wh-{world.tag}")
    body = {"external_id": f"WH-SERVE-{world.tag}", "channel": "web", "ship_to": {"lat": 45.0, "lon": 5.0},
            "lines": [{"gtin": world.gtin, "qty": 1}]}
    with TestClient(app) as client:
        answer = client.post("/api/v1/orders", headers={"Authorization": f"Bearer {token}"}, json=body)
        assert answer.status_code == 201, answer.text
        world.orders.append(answer.json()["id"])
        [(event_id, _)] = world.event_ids(answer.json()["id"])
        [got] = [r for r in receiver.wait_for(lambda rs: event_id in {r.webhook_id for r in rs}) if r.webhook_id == event_id]
    assert got.verified and got.payload["data"]["order"]["external_id"] == body["external_id"]

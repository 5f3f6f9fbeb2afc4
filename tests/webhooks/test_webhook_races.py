"""Dispatchers racing and dying, on the real database: two dispatchers (separate engines, as two processes would
have) on the same events deliver each exactly once, never one event twice at the same time, in order per ordering
key, retries included; a real `fulfil webhooks dispatch` process killed (SIGKILL) while the receiver holds its
request leaves a lease, and once it has run out another dispatcher delivers the event again with the same
webhook-id (at least once)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fulfil.db import make_engine, make_session_factory
from fulfil.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEvent
from fulfil.models.base import utcnow
from fulfil.webhooks.dispatcher import DispatchLoop, Dispatcher
from tests.webhooks.conftest import LEASE, TIMEOUT, Clock, World, fast_settings
from tests.webhooks.receiver import OK, Answer, Received, Receiver

Make = Callable[..., Dispatcher]
KEYS = 6
EVENTS = 60


def delivered(world: World, endpoint: int, ids: list[str]) -> int:
    with world.factory() as s:
        return int(s.scalar(
            select(func.count()).select_from(WebhookDelivery).join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.endpoint_id == endpoint, WebhookEvent.public_id.in_(ids), WebhookDelivery.status == DeliveryStatus.DELIVERED)
        ) or 0)


@pytest.mark.parametrize("flaky", [False, True], ids=["healthy", "flaky"])
def test_two_dispatchers_deliver_each_event_once_and_in_order(world: World, receiver: Receiver, dispatchers: Make, clock: Clock,
                                                              flaky: bool) -> None:
    endpoint, _ = world.endpoint(receiver.url(), ["availability.changed"], receiver)
    ids = world.publish(EVENTS, key=lambda i: f"availability:{world.tag}:k{i % KEYS}")
    refuse_once = set(ids[::4]) if flaky else set()  # each refused the first time: retried later, the rest of its key waits
    refused: set[str] = set()

    def plan(r: Received) -> Answer:
        if r.webhook_id in refuse_once and r.webhook_id not in refused:
            refused.add(r.webhook_id)
            return Answer(status=500)
        return Answer(delay=0.005)  # long enough for the two dispatchers' requests to overlap

    receiver.plan = plan
    # The clock is stepped past retries while requests are out: the lease (in the same clock) must outlast many steps.
    # One request at a time per dispatcher, two per endpoint: neither can fill the endpoint, so the other always finds
    # a slot when it asks (with 4 each, one of them could hold the endpoint's 2 slots all along: CI once saw a
    # dispatcher send nothing).
    settings = fast_settings(webhook_lease_seconds=120, webhook_workers=1)
    other = make_engine(world.url())
    a = dispatchers(world.factory, now=clock, name="dispatcher-a", settings=settings)
    b = dispatchers(make_session_factory(other), now=clock, name="dispatcher-b", settings=settings)
    loops = [DispatchLoop(d, 0.01, stop_timeout=10) for d in (a, b)]  # both running all along, as two processes would
    clock.set(utcnow())
    try:
        for loop in loops:
            loop.start()
        deadline = time.monotonic() + 60
        while delivered(world, endpoint, ids) < EVENTS:
            assert time.monotonic() < deadline, "not everything was delivered in 60 s"
            time.sleep(0.3)
            if flaky:
                clock.advance(timedelta(seconds=6))  # past a first retry (5 s + 10%)
    finally:
        for loop in loops:
            loop.stop()
        other.dispose()
    got = [r for r in receiver.received if r.webhook_id in set(ids)]
    counts = Counter(r.webhook_id for r in got)
    assert {i: counts[i] for i in ids} == {i: 2 if i in refuse_once else 1 for i in ids}  # exactly once each, retries apart
    assert all(receiver.max_concurrent[i] == 1 for i in ids)  # never the same event twice at the same time
    assert all(r.verified for r in got)
    delivered_at = {}
    for r in got:  # the answer that counted: the last one of each event
        delivered_at[r.webhook_id] = r.at
    for k in range(KEYS):
        chain = ids[k::KEYS]
        assert sorted(chain, key=lambda i: delivered_at[i]) == chain, f"key k{k} delivered out of order"
    assert [world.delivery(endpoint, i).status for i in ids] == [DeliveryStatus.DELIVERED] * EVENTS
    assert a.counters.lost_leases == b.counters.lost_leases == 0
    assert a.counters.sent + b.counters.sent == len(got) and a.counters.sent and b.counters.sent  # both took part
    with world.factory() as s:
        log = s.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_([world.delivery(endpoint, i).id for i in ids]))).all()
    assert len(log) == len(got) and all(attempt.duration_ms is not None for attempt in log)


def test_a_dispatcher_killed_mid_delivery_is_replaced_after_its_lease(world: World, receiver: Receiver, dispatchers: Make,
                                                                      clock: Clock) -> None:
    endpoint, _ = world.endpoint(receiver.url(), ["availability.changed"], receiver)
    [event] = world.publish(1)
    held: list[str] = []

    def plan(r: Received) -> Answer:
        if r.webhook_id == event and not held:
            held.append(r.webhook_id)
            return Answer(hold=True)
        return OK

    receiver.plan = plan
    env = {
        **os.environ, "FULFIL_DATABASE_URL": world.url(), "FULFIL_WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT),
        "FULFIL_WEBHOOK_LEASE_SECONDS": str(LEASE), "FULFIL_WEBHOOK_DISPATCH_INTERVAL_SECONDS": "0.05",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    process = subprocess.Popen([sys.executable, "-m", "fulfil.cli", "webhooks", "dispatch"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert receiver.holding.wait(60), "the dispatcher process never sent the event"
    finally:
        process.send_signal(signal.SIGKILL)  # mid-request: the receiver has not answered
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    killed = stderr.split("dispatching webhooks as ", 1)[1].split(" ", 1)[0]
    receiver.release.set()  # the held request ends; nobody reads its answer
    leased = world.delivery(endpoint, event)
    assert leased.status is DeliveryStatus.PENDING and leased.lease_owner == killed and leased.lease_until is not None
    survivor = dispatchers(world.factory, now=clock, name="survivor")
    survivor.drain(timeout=30)
    assert receiver.ids().count(event) == 1  # its lease holds: nobody sends it meanwhile
    clock.set(leased.lease_until + timedelta(seconds=1))
    survivor.drain(timeout=30)
    assert receiver.ids().count(event) == 2  # sent again, with the same webhook-id
    assert all(r.verified for r in receiver.received if r.webhook_id == event)
    delivery = world.delivery(endpoint, event)
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempt_count == 2
    with world.factory() as s:
        log = s.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id).order_by(WebhookAttempt.number)).all()
    assert [(a.number, a.dispatcher, a.duration_ms is None, a.status_code) for a in log] == [
        (1, killed, True, None),  # the killed dispatcher's attempt: started, no outcome
        (2, "survivor", False, 200),
    ]


def test_dispatch_once_delivers_what_is_due_and_reports_it(world: World, receiver: Receiver) -> None:
    world.endpoint(receiver.url(), ["availability.changed"], receiver)
    ids = world.publish(3)
    env = {**os.environ, "FULFIL_DATABASE_URL": world.url(), "FULFIL_WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT),
           "FULFIL_WEBHOOK_LEASE_SECONDS": str(LEASE), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-m", "fulfil.cli", "webhooks", "dispatch", "--once"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["delivered"] >= 3 and report["dead"] == 0 and report["errors"] == 0
    assert set(ids) <= set(receiver.ids()) and all(r.verified for r in receiver.received)
    bad = subprocess.run([sys.executable, "-m", "fulfil.cli", "webhooks", "prune", "--older-than-days", "0"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "1 to 36500" in bad.stderr

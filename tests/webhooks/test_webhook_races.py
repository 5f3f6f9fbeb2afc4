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
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from fulfil.db import make_engine, make_session_factory
from fulfil.models import DeliveryStatus, WebhookAttempt
from fulfil.models.base import utcnow
from fulfil.webhooks.dispatcher import Dispatcher
from tests.service.test_concurrency import race
from tests.webhooks.conftest import LEASE, TIMEOUT, Clock, World
from tests.webhooks.receiver import OK, Answer, Received, Receiver

Make = Callable[..., Dispatcher]
KEYS = 6
EVENTS = 36


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
    other = make_engine(world.url())
    try:
        a = dispatchers(world.factory, now=clock, name="dispatcher-a")
        b = dispatchers(make_session_factory(other), now=clock, name="dispatcher-b")
        clock.set(utcnow())
        for _round in range(4 if flaky else 1):
            outcome = race(2, lambda i: (a, b)[i].drain(timeout=60))
            assert outcome == [None, None], outcome
            clock.advance(timedelta(seconds=10))  # past the first retry (5 s + 10%)
        a.close(10)
        b.close(10)
    finally:
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
    assert a.counters.sent + b.counters.sent >= len(got) and a.counters.sent and b.counters.sent
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

"""The dispatcher: fans the outbox out to the endpoints subscribed, claims due deliveries under a lease, sends them
signed (Standard Webhooks), and records each outcome with its retry.

Guarantees, under any number of dispatchers (threads or processes, `serve` and `fulfil webhooks dispatch`):
- at least once: a delivery is pending until a 2xx answer is recorded; a dispatcher killed mid-request leaves its
  lease, which runs out (it outlasts any request: Settings.webhook_lease_seconds > 3 x the timeout), and another
  sends the event again with the same webhook-id;
- never twice at once: a delivery is sent only by the dispatcher holding its lease (fulfil.webhooks.repository.claim);
- in order per ordering key (an order, or a store's product for availability) and endpoint: nothing is sent while
  an earlier event of its key is still pending for that endpoint;
- retries on the schedule below with jitter (about three days), then `failed`; 410 Gone disables the endpoint
  (its deliveries wait until it is enabled again); Retry-After on 429/502/503/504 is honoured (up to a day).

Requests go out from a small thread pool, at most `webhook_endpoint_concurrency` per endpoint, so a slow or
hanging endpoint holds that many workers at most and never stalls the others."""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from sqlalchemy.orm import Session, sessionmaker

from fulfil import __version__
from fulfil.config import Settings
from fulfil.db import unit_of_work
from fulfil.models import DeliveryStatus, EndpointStatus, WebhookDelivery, WebhookEndpoint
from fulfil.models.base import utcnow
from fulfil.webhooks import outbox, payloads, repository, signing
from fulfil.webhooks.repository import Claimed

log = logging.getLogger(__name__)

# Delay before attempt n+1 after attempt n fails (the Standard Webhooks recommendation): attempt 1 at once, then 5 s,
# 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h; about 75 h in all. After the last, the delivery is `failed`.
SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=5),
    timedelta(hours=10), timedelta(hours=14), timedelta(hours=20), timedelta(hours=24),
)
MAX_ATTEMPTS = len(SCHEDULE) + 1
JITTER = 0.1  # each delay is drawn from +-10% of the schedule's, so failing deliveries do not retry in lockstep
RETRY_AFTER_STATUSES = frozenset({429, 502, 503, 504})
RETRY_AFTER_MAX = timedelta(hours=24)  # a Retry-After longer than this is taken as this
EXCERPT_BYTES = 500  # of each answer, kept in the delivery log
ERROR_CHARS = 500
FAN_OUT_BATCH = 500  # events fanned out per transaction
CLAIM_ROUNDS = 3  # queries per claim when the first candidates belong to endpoints already at their limit
USER_AGENT = f"Fulfil-Webhooks/{__version__}"


def default_jitter() -> float:
    """A factor in [1 - JITTER, 1 + JITTER]."""
    return random.uniform(1 - JITTER, 1 + JITTER)


def retry_delay(attempts: int, jitter: float) -> timedelta:
    """How long to wait after the `attempts`-th attempt failed (1-based), jitter applied."""
    return SCHEDULE[min(attempts, len(SCHEDULE)) - 1] * jitter


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After as seconds or an HTTP date; None when absent or unreadable; capped at RETRY_AFTER_MAX."""
    if not value:
        return None
    value = value.strip()
    try:
        delay = timedelta(seconds=max(0, int(value))) if value.isdigit() else parsedate_to_datetime(value) - now
    except (TypeError, ValueError, OverflowError):
        return None
    return min(max(delay, timedelta(0)), RETRY_AFTER_MAX)


@dataclass(frozen=True)
class Outcome:
    """What one request got: a status code (any answer) or an error (no answer), the start of the body, the time."""

    status_code: int | None
    error: str | None
    excerpt: str | None
    duration_ms: int
    retry_after: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class Counters:
    """What a dispatcher did since it started (logged, and read by tests and the benchmark)."""

    fanned_out: int = 0
    sent: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    dead: int = 0
    disabled: int = 0
    lost_leases: int = 0
    errors: int = 0  # a dispatcher step that raised (logged)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def snapshot(self) -> dict[str, int]:
        """The counts, as a plain dict."""
        with self.lock:
            return {name: value for name, value in vars(self).items() if isinstance(value, int)}


def default_name() -> str:
    """host:pid:random, to tell dispatchers apart in leases and the delivery log."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Dispatcher:
    """One dispatcher: `step()` records what ended, fans out, claims what its free workers can send and hands it to
    them, all in one commit; `drain()` repeats until nothing is due and nothing is in flight. `now` is injected so
    tests can walk the retry schedule; the `webhook-timestamp` header is always the wall clock (receivers check it
    against theirs)."""

    def __init__(
        self, factory: sessionmaker[Session], settings: Settings, *, name: str | None = None, now: Callable[[], datetime] = utcnow,
        jitter: Callable[[], float] = default_jitter, client: httpx.Client | None = None,
    ) -> None:
        self.factory = factory
        self.name = (name or default_name())[:64]
        self.now = now
        self.jitter = jitter
        self.counters = Counters()
        self._workers = settings.webhook_workers
        self._per_endpoint = settings.webhook_endpoint_concurrency
        self._lease = timedelta(seconds=settings.webhook_lease_seconds)
        self._owns_client = client is None
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(settings.webhook_timeout_seconds), follow_redirects=False, headers={"user-agent": USER_AGENT},
            limits=httpx.Limits(max_connections=settings.webhook_workers * 2, max_keepalive_connections=settings.webhook_workers),
        )
        self._pool = ThreadPoolExecutor(settings.webhook_workers, thread_name_prefix=f"webhook-{self.name[-6:]}")
        self._state = threading.Condition()
        self._claimed: dict[int, int] = {}  # endpoint id -> deliveries claimed whose outcome is not recorded yet
        self._total = 0  # all of them
        self._sending = 0  # requests out now
        self._outcomes: list[tuple[Claimed, Outcome]] = []  # sent, to be recorded by the next step
        self.on_done: Callable[[], None] | None = None  # called when a request ends (the loop wakes up to record it)

    # --------------------------------------------------------------------------------------- one step, one commit

    def step(self) -> int:
        """In one transaction: record the outcomes of the requests that ended, fan new events out, claim what the
        free workers can send; then start sending. Returns how much happened (0: nothing to do now)."""
        with self._state:
            done, self._outcomes = self._outcomes, []
        try:
            with unit_of_work(self.factory) as session:
                now = self.now()
                tally = self._record(session, done, now)
                fanned = self._fan_out(session, now)
                jobs = self._claim(session, now, released=[job for job, _ in done])
        except BaseException:
            with self._state:
                self._outcomes[:0] = done  # recorded by a later step (their leases hold meanwhile)
            raise
        with self._state:
            for job, _ in done:
                self._claimed[job.endpoint_id] -= 1
                if not self._claimed[job.endpoint_id]:
                    del self._claimed[job.endpoint_id]
                self._total -= 1
            for job in jobs:
                self._claimed[job.endpoint_id] = self._claimed.get(job.endpoint_id, 0) + 1
                self._total += 1
                self._sending += 1
            self._state.notify_all()
        for job in jobs:
            self._pool.submit(self._deliver, job).add_done_callback(_log_crash)
        self.counters.add(fanned_out=fanned, **tally)  # counted once committed
        return len(done) + fanned + len(jobs)

    def _fan_out(self, session: Session, now: datetime) -> int:
        """Create the deliveries of (a batch of) events not fanned out yet, for the endpoints subscribed now."""
        events = repository.unfanned_events(session, FAN_OUT_BATCH)
        if not events:
            return 0
        endpoints = repository.subscriptions(session)
        repository.add_deliveries(session, [
            {"endpoint_id": endpoint_id, "event_id": event_id, "ordering_key": key, "status": DeliveryStatus.PENDING.value,
             "attempts": 0, "attempt_count": 0, "generation": 0, "next_attempt_at": now, "created_at": now}
            for event_id, type_, key in events for endpoint_id, types in endpoints if type_ in types
        ])
        repository.mark_fanned_out(session, [e[0] for e in events], now)
        return len(events)

    def _claim(self, session: Session, now: datetime, released: list[Claimed]) -> list[Claimed]:
        """Lease as many due deliveries as there are free workers, at most webhook_endpoint_concurrency per endpoint
        (`released`: claims whose outcome this step records, free again)."""
        with self._state:
            busy = dict(self._claimed)
            free = self._workers - self._total + len(released)
        for job in released:
            busy[job.endpoint_id] -= 1
        if free <= 0:
            return []
        picked: list[int] = []
        active: set[int] | None = None
        for _round in range(CLAIM_ROUNDS):  # endpoints at their limit are left out of the next round's query
            full = [e for e, n in busy.items() if n >= self._per_endpoint]
            candidates = repository.due(session, now, free * 4, exclude_endpoints=full, exclude=picked)
            for delivery_id, endpoint_id in candidates:
                if busy.get(endpoint_id, 0) < self._per_endpoint:
                    picked.append(delivery_id)
                    busy[endpoint_id] = busy.get(endpoint_id, 0) + 1
                    if len(picked) == free:
                        break
            if len(picked) == free or len(candidates) < free * 4:
                break
            active = active if active is not None else repository.active_endpoints(session)
            if all(busy.get(e, 0) >= self._per_endpoint for e in active):
                break  # every endpoint is at its limit: nothing more to find
        return repository.claim(session, picked, self.name, now, now + self._lease)

    def send(self, job: Claimed) -> Outcome:
        """POST the event's exact body, signed; no redirect is followed. Never raises: a failure is an Outcome."""
        body = job.body.encode()
        headers = signing.headers(job.secrets, job.event_id, int(time.time()), body)
        started = time.perf_counter()
        try:
            with self._client.stream("POST", job.url, content=body, headers=headers) as response:
                excerpt = _excerpt(response)
                code = response.status_code
                retry_after = response.headers.get("retry-after") if code in RETRY_AFTER_STATUSES else None
            error = None if 200 <= code < 300 else f"HTTP {code}"
            return Outcome(code, error, excerpt, _ms(started), retry_after)
        except httpx.TimeoutException as exc:
            return Outcome(None, f"timeout ({type(exc).__name__})", None, _ms(started))
        except Exception as exc:  # connection refused, reset, a URL httpx cannot use: all are failed attempts
            return Outcome(None, f"{type(exc).__name__}: {exc}"[:ERROR_CHARS], None, _ms(started))

    def _record(self, session: Session, done: list[tuple[Claimed, Outcome]], now: datetime) -> dict[str, int]:
        """Log the attempts and decide what follows each: delivered, retried later, failed for good, or (410) the
        endpoint disabled. Nothing but the log changes where this dispatcher no longer holds the lease. Returns what
        to count once this commits."""
        tally: Counter[str] = Counter()
        if not done:
            return tally
        repository.complete_attempts(session, [
            {"b_delivery": job.delivery_id, "b_number": job.number, "duration_ms": o.duration_ms, "status_code": o.status_code,
             "error": o.error, "response_excerpt": o.excerpt}
            for job, o in done
        ])
        deliveries = repository.deliveries_for_update(session, [job.delivery_id for job, _ in done])
        for job, outcome in done:
            tally.update(self._decide(session, deliveries.get(job.delivery_id), job, outcome, now))
        return tally

    def _decide(self, session: Session, delivery: WebhookDelivery | None, job: Claimed, outcome: Outcome, now: datetime) -> list[str]:
        """What follows one outcome; the counters it moves."""
        if delivery is None:
            return []  # the endpoint was deleted meanwhile
        if delivery.lease_owner != self.name:
            log.warning("webhook delivery %s: lease lost while sending (now held by %s); outcome only logged", delivery.id, delivery.lease_owner)
            return ["lost_leases"]
        delivery.lease_owner = None
        delivery.lease_until = None
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        if delivery.generation != job.generation:  # replayed while in flight: the replay is a new round, due now
            delivery.next_attempt_at = now
            return []
        if outcome.delivered:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
            return ["delivered"]
        if outcome.status_code == 410:
            delivery.next_attempt_at = now  # resumes as soon as the endpoint is enabled again
            return ["failed_attempts", *self._disable(session, job, now)]
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
            log.warning("webhook %s to endpoint %s failed after %d attempts: %s", job.event_id, job.endpoint_id, delivery.attempts, outcome.error)
            return ["dead", "failed_attempts"]
        delay = retry_delay(delivery.attempts, self.jitter())
        asked = parse_retry_after(outcome.retry_after, now)
        if asked is not None and asked > delay:
            delay = asked
        delivery.next_attempt_at = now + delay
        log.info("webhook %s to endpoint %s, attempt %d: %s; next in %s", job.event_id, job.endpoint_id, delivery.attempts, outcome.error, delay)
        return ["failed_attempts"]

    def _disable(self, session: Session, job: Claimed, now: datetime) -> list[str]:
        endpoint = session.get(WebhookEndpoint, job.endpoint_id)
        if endpoint is None or endpoint.status is not EndpointStatus.ACTIVE:
            return []
        endpoint.status = EndpointStatus.DISABLED
        endpoint.disabled_reason = f"410 Gone from {job.url} ({payloads.timestamp(now)}): enable it again once it takes webhooks"
        endpoint.disabled_at = now
        log.warning("webhook endpoint %s disabled: it answered 410 Gone", job.endpoint_id)
        return ["disabled"]

    def _deliver(self, job: Claimed) -> None:
        outcome = self.send(job)
        self.counters.add(sent=1)
        with self._state:
            self._outcomes.append((job, outcome))
            self._sending -= 1
            self._state.notify_all()
        if self.on_done is not None:
            self.on_done()

    # ------------------------------------------------------------------------------------------- driving the steps

    def in_flight(self) -> int:
        """Deliveries claimed whose outcome is not recorded yet."""
        with self._state:
            return self._total

    def drain(self, timeout: float | None = None) -> None:
        """Deliver everything due now: steps until nothing happens and nothing is in flight (`--once`, tests).
        Deliveries whose retry is later stay for later."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self.step():
                continue
            with self._state:
                if self._total == 0 and not self._outcomes:
                    return
                if not self._outcomes:
                    self._state.wait(0.05)  # until a request ends (its outcome may unblock the next of its order)
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"webhook deliveries still in flight after {timeout} s")

    def close(self, timeout: float | None = None) -> None:
        """Let requests in flight end (up to `timeout`) and record their outcomes, then stop the workers and the HTTP
        client. A request still out after that keeps its lease, which runs out: another dispatcher sends it again."""
        with self._state:
            self._state.wait_for(lambda: self._sending == 0, timeout)
            done, self._outcomes = self._outcomes, []
        if done:
            try:
                with unit_of_work(self.factory) as session:
                    tally = self._record(session, done, self.now())
                self.counters.add(**tally)
            except Exception:
                log.exception("webhook outcomes could not be recorded at shutdown; their leases will run out")
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._owns_client:
            self._client.close()


def _excerpt(response: httpx.Response) -> str | None:
    """The first EXCERPT_BYTES of the answer, read at most once (a body that never ends does not hold the worker)."""
    buffer = b""
    try:
        for chunk in response.iter_bytes():
            buffer += chunk
            if len(buffer) >= EXCERPT_BYTES:
                break
    except httpx.HTTPError:
        pass  # the status line is the answer; a body that stops short only shortens the excerpt
    return buffer[:EXCERPT_BYTES].decode("utf-8", "replace") or None


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _log_crash(future: Future[None]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("webhook worker crashed", exc_info=exc)


class DispatchLoop:
    """A dispatcher run in a thread until stopped: a step every `interval` seconds, or at once when a request ends
    or an event is committed in this process (fulfil.webhooks.outbox.on_commit). A failed step is logged, never fatal."""

    def __init__(self, dispatcher: Dispatcher, interval: float, *, stop_timeout: float) -> None:
        self.dispatcher = dispatcher
        self._interval = interval
        self._stop_timeout = stop_timeout
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="webhook-dispatch", daemon=True)
        dispatcher.on_done = self._wake.set

    def start(self) -> None:
        outbox.on_commit.add(self._wake.set)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def request_stop(self) -> None:
        """Stop claiming (safe from a signal handler); stop() or run() then waits for the requests in flight."""
        self._stop.set()
        self._wake.set()

    def stop(self) -> None:
        """Stop claiming; requests in flight get up to `stop_timeout` seconds to finish (a lease left behind runs out)."""
        outbox.on_commit.discard(self._wake.set)
        self.request_stop()
        self._thread.join(self._stop_timeout)
        self.dispatcher.close(self._stop_timeout)

    def run(self) -> None:
        """Run in the calling thread until request_stop() (the `fulfil webhooks dispatch` command)."""
        outbox.on_commit.add(self._wake.set)
        try:
            self._loop()
        finally:
            outbox.on_commit.discard(self._wake.set)
            self.dispatcher.close(self._stop_timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.dispatcher.step()
            except Exception:  # the database went away, a bad row: the next step tries again
                self.dispatcher.counters.add(errors=1)
                log.exception("webhook dispatch step failed")
            self._wake.wait(self._interval)


def start_in_serve(factory: sessionmaker[Session], settings: Settings) -> DispatchLoop | None:
    """The dispatcher of `fulfil serve` (started by the app's lifespan), unless webhook_dispatch_interval_seconds is 0."""
    if settings.webhook_dispatch_interval_seconds <= 0:
        return None
    loop = DispatchLoop(Dispatcher(factory, settings), settings.webhook_dispatch_interval_seconds, stop_timeout=settings.webhook_timeout_seconds + 5)
    loop.start()
    return loop

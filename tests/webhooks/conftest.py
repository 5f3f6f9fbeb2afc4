"""Webhook fixtures: a real receiver, a clock tests step through the retry schedule, dispatchers with short timeouts,
and (for dispatchers, races and processes) a store, a product and endpoints committed for real, removed afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, or_, select
from sqlalchemy.orm import Session, sessionmaker

from fulfil.auth.service import Principal
from fulfil.config import Settings
from fulfil.db import make_session_factory, unit_of_work
from fulfil.models import (
    ApiToken, Location, LocationKind, Product, Role, StockCause, StockEvent, StockLevel, WebhookAttempt, WebhookDelivery, WebhookEndpoint,
    WebhookEvent,
)
from fulfil.models.base import utcnow
from fulfil.orders.schemas import OrderCreate
from fulfil.orders.service import take_in
from fulfil.stock import service as stock
from fulfil.webhooks import outbox, repository, signing
from fulfil.webhooks.dispatcher import Dispatcher
from tests.conftest import assert_stock_consistent, make_gtin
from tests.factories import delete_orders, next_number
from tests.webhooks.receiver import Receiver

OPS = Principal(token_id=0, name="webhook-test", role=Role.OPS, location_id=None)
TIMEOUT = 1.0  # each request's timeout in these tests: a hanging receiver costs a second
LEASE = 4.0


def fast_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhook_timeout_seconds": TIMEOUT, "webhook_lease_seconds": LEASE, "webhook_workers": 4, "webhook_endpoint_concurrency": 2,
        "webhook_dispatch_interval_seconds": 0, "routing_batch_interval_seconds": 0, "pickup_sweep_interval_seconds": 0,
    }
    return Settings(**{**values, **overrides})


class Clock:
    """The dispatcher's `now`: the wall clock until a test moves it (then it stands still where it was put)."""

    def __init__(self) -> None:
        self.at: datetime | None = None

    def __call__(self) -> datetime:
        return self.at or utcnow()

    def set(self, at: datetime) -> None:
        self.at = at

    def advance(self, delta: timedelta) -> datetime:
        self.at = self() + delta
        return self.at


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture()
def dispatchers() -> Iterator[Callable[..., Dispatcher]]:
    """Make dispatchers (closed after the test)."""
    made: list[Dispatcher] = []

    def make(factory: sessionmaker[Session], *, settings: Settings | None = None, **kw: Any) -> Dispatcher:
        dispatcher = Dispatcher(factory, settings or fast_settings(), **kw)
        made.append(dispatcher)
        return dispatcher

    yield make
    for dispatcher in made:
        dispatcher.close(5)


@dataclass
class World:
    """Rows committed for real, and what to remove afterwards."""

    factory: sessionmaker[Session]
    engine: Engine
    store: str  # a warehouse
    gtin: str
    tag: str
    orders: list[int] = field(default_factory=list)
    endpoints: list[int] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    def endpoint(self, url: str, types: list[str], receiver: Receiver | None = None) -> tuple[int, str]:
        """Register an endpoint (committed); the receiver is given its secret to verify with."""
        with unit_of_work(self.factory) as s:
            row = WebhookEndpoint(url=url, event_types=types, secret=signing.new_secret(), description=f"test {self.tag}")
            s.add(row)
            s.flush()
            ids = row.id, row.secret
        self.endpoints.append(ids[0])
        if receiver is not None:
            receiver.secrets.append(ids[1])
        return ids

    def publish(self, n: int, *, key: str | Callable[[int], str] | None = None, type_: str = "availability.changed") -> list[str]:
        """`n` events committed in one transaction, each with its own ordering key unless `key` (one, or one per
        event number) is given; their webhook-ids, in order."""

        def key_of(i: int) -> str:
            return key(i) if callable(key) else key or f"availability:{self.tag}:{i}"

        with unit_of_work(self.factory) as s:
            rows = [outbox.publish(s, type_, {"test": self.tag, "n": i}, ordering_key=key_of(i)) for i in range(n)]
            s.flush()
            return [r.public_id for r in rows]

    def url(self) -> str:
        """The database URL (with its schema, on PostgreSQL) for another engine or process."""
        return self.engine.url.render_as_string(hide_password=False)

    def order(self, qty: int = 1) -> int:
        """A home-delivery order taken in and routed (committed): its order.routed event is in the outbox."""
        with unit_of_work(self.factory) as s:
            body = OrderCreate.model_validate({"external_id": f"WH-{self.tag}-{next_number()}", "channel": "web",
                                               "ship_to": {"lat": 45.0, "lon": 5.0}, "lines": [{"gtin": self.gtin, "qty": qty}]})
            order_id = take_in(s, body, OPS, fast_settings()).order.id
        self.orders.append(order_id)
        return order_id

    def deliveries(self, endpoint_id: int) -> list[WebhookDelivery]:
        with self.factory() as s:
            return list(s.scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id).order_by(WebhookDelivery.event_id)))

    def delivery(self, endpoint_id: int, public_id: str) -> WebhookDelivery:
        """The delivery of one event (by webhook-id) to one endpoint."""
        with self.factory() as s:
            row = s.scalars(select(WebhookDelivery).join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
                            .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookEvent.public_id == public_id)).one()
            return row

    def event_ids(self, order_id: int) -> list[tuple[str, str]]:
        """(webhook-id, type) of an order's events, oldest first."""
        with self.factory() as s:
            rows = s.execute(select(WebhookEvent.public_id, WebhookEvent.type).where(WebhookEvent.order_id == order_id).order_by(WebhookEvent.id))
            return [(r[0], r[1]) for r in rows]


@pytest.fixture()
def world(engine: Engine, request: pytest.FixtureRequest) -> Iterator[World]:
    """A warehouse with stock of a product, committed for real; every endpoint, order, event and stock row the test made
    is removed afterwards (after the stock invariant is checked)."""
    factory = make_session_factory(engine)
    tag = uuid.uuid4().hex[:8]
    store, gtin = f"WH-{tag}", make_gtin(prefix="0999999")
    with unit_of_work(factory) as s:
        # A warehouse: its stock makes no availability.changed events of its own (those are for stores).
        s.add(Location(id=store, name="webhook test warehouse", kind=LocationKind.WAREHOUSE, lat=45.0, lon=5.0, capacity_per_day=None))
        s.merge(Product(gtin=gtin, name="webhook test product", company_prefix_length=7))
    with unit_of_work(factory) as s:
        stock.adjust(s, store, gtin, stock.Cause(StockCause.SYSTEM, actor="test", reason="receipt"), delta=1000)
    built = World(factory, engine, store, gtin, tag)
    yield built
    try:
        with engine.connect() as conn:
            assert_stock_consistent(conn, request)
    finally:
        with unit_of_work(factory) as s:
            for endpoint_id in built.endpoints:
                repository.delete_endpoint(s, endpoint_id)
            delete_orders(s, built.orders)
            mine = select(WebhookEvent.id).where(or_(WebhookEvent.ordering_key.like(f"availability:{tag}:%"),
                                                     WebhookEvent.ordering_key.like(f"availability:{store}:%")))
            deliveries = select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(mine))
            s.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
            s.execute(delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(mine)))
            s.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(mine)))
            s.execute(delete(StockEvent).where(StockEvent.location_id == store))
            s.execute(delete(StockLevel).where(StockLevel.location_id == store))
            s.execute(delete(ApiToken).where(ApiToken.name.in_(built.tokens)))
            s.execute(delete(Product).where(Product.gtin == gtin))
            s.execute(delete(Location).where(Location.id == store))

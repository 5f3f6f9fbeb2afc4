"""Unique test data, one counter per test process. pytest imports tests/conftest.py as `conftest` while test
modules import it as `tests.conftest`: a counter kept there would exist twice and hand out the same GTIN twice,
so it lives here, in a module imported under one name only."""

from __future__ import annotations

from itertools import count
from typing import Any

from fulfil.config import Settings
from rfid.epc.gs1 import gtin_check_digit

_counter = count(10_000)


def next_number() -> int:
    """A number no other call in this test process gets."""
    return next(_counter)


def make_gtin(item: int | None = None, prefix: str = "0614141") -> str:
    """A valid GTIN-14 (unique per call unless `item` is given)."""
    body = "0" + prefix + f"{(item if item is not None else next_number()) % 100000:05d}"
    return body + str(gtin_check_digit(body))


def delete_orders(session: Any, order_ids: list[int]) -> None:
    """Delete committed orders with everything that refers to them (tests that commit clean up after themselves)."""
    from sqlalchemy import delete, or_, select

    from fulfil.models import (
        DomainEvent, Handover, Order, OrderCancellation, OrderLine, Parcel, ParcelVerification, Return, ReturnLine,
        RoutingDecision, Shipment, ShipmentLine, ShortPick, ShortPickRequest, StockEvent, StockHold, StoreTask, WebhookAttempt,
        WebhookDelivery, WebhookEvent,
    )

    if not order_ids:
        return
    delete_holds(session, select(StockHold.id).where(StockHold.order_id.in_(order_ids)))
    shipments = select(Shipment.id).where(Shipment.order_id.in_(order_ids))
    returns = select(Return.id).where(Return.order_id.in_(order_ids))
    events = select(WebhookEvent.id).where(WebhookEvent.order_id.in_(order_ids))
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(events))
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(events)))
    session.execute(delete(WebhookEvent).where(WebhookEvent.order_id.in_(order_ids)))
    session.execute(delete(DomainEvent).where(or_(DomainEvent.order_id.in_(order_ids), DomainEvent.shipment_id.in_(shipments))))
    session.execute(delete(StoreTask).where(or_(StoreTask.order_id.in_(order_ids), StoreTask.shipment_id.in_(shipments))))
    session.execute(delete(Handover).where(Handover.order_id.in_(order_ids)))
    session.execute(delete(ShortPick).where(ShortPick.order_id.in_(order_ids)))
    session.execute(delete(ShortPickRequest).where(ShortPickRequest.shipment_id.in_(shipments)))
    session.execute(delete(OrderCancellation).where(OrderCancellation.order_id.in_(order_ids)))
    session.execute(delete(ReturnLine).where(ReturnLine.return_id.in_(returns)))
    session.execute(delete(Return).where(Return.order_id.in_(order_ids)))
    session.execute(delete(StockEvent).where(or_(StockEvent.order_id.in_(order_ids), StockEvent.shipment_id.in_(shipments))))
    session.execute(delete(ParcelVerification).where(ParcelVerification.shipment_id.in_(shipments)))
    session.execute(delete(Parcel).where(Parcel.shipment_id.in_(shipments)))
    session.execute(delete(ShipmentLine).where(ShipmentLine.shipment_id.in_(shipments)))
    session.execute(delete(Shipment).where(Shipment.order_id.in_(order_ids)))
    session.execute(delete(RoutingDecision).where(RoutingDecision.order_id.in_(order_ids)))
    session.execute(delete(OrderLine).where(OrderLine.order_id.in_(order_ids)))
    session.execute(delete(Order).where(Order.id.in_(order_ids)))


def delete_holds(session: Any, hold_ids: Any) -> None:
    """Delete committed checkout holds (a list of ids or a select of them) with their lines and stock events."""
    from sqlalchemy import delete

    from fulfil.models import StockEvent, StockHold, StockHoldLine

    ids = list(session.scalars(hold_ids)) if not isinstance(hold_ids, list) else hold_ids
    if not ids:
        return
    session.execute(delete(StockEvent).where(StockEvent.hold_id.in_(ids)))
    session.execute(delete(StockHoldLine).where(StockHoldLine.hold_id.in_(ids)))
    session.execute(delete(StockHold).where(StockHold.id.in_(ids)))


def error_of(response: Any) -> dict[str, Any]:
    """An error answer's body without its request id (every answer has its own): to compare two answers word for word."""
    body: dict[str, Any] = response.json()
    return {**body, "error": {k: v for k, v in body["error"].items() if k != "request_id"}}


# Every background job of `serve` off (batch routing, the hold and pickup sweeps, the webhook dispatcher). An app bound to
# the test's one connection must use these: a job's thread would share that connection (and its savepoints) with the
# requests, and a job running at an unplanned moment moves what a test is counting.
NO_JOBS: dict[str, float] = {
    "hold_sweep_interval_seconds": 0, "webhook_dispatch_interval_seconds": 0, "routing_batch_interval_seconds": 0,
    "pickup_sweep_interval_seconds": 0,
}


def quiet_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for a test app on `database_url` with no background jobs (NO_JOBS), then `overrides`."""
    return Settings(**{"database_url": database_url, **NO_JOBS, **overrides})


def delete_location(session: Any, location_id: str, epcs: Any = ()) -> None:
    """Delete a committed location with everything recorded there: its orders' rows, its events, verdicts, anomalies,
    business events, tasks, tags (and the tags `epcs`, wherever they went) and stock levels (tests that commit clean
    up after themselves: other tests count the locations and stock of the shared schema)."""
    from sqlalchemy import delete, select

    from fulfil.models import DomainEvent, Location, ParcelVerification, RfidTag, Shipment, StockEvent, StockLevel, StoreTask, TagAnomaly

    orders = list(session.scalars(select(Shipment.order_id).where(Shipment.location_id == location_id)))
    for model in (StockEvent, ParcelVerification, TagAnomaly, DomainEvent, StoreTask):
        session.execute(delete(model).where(model.location_id == location_id))
    epcs = list(epcs)
    if epcs:  # before the orders: a tag may name a shipment
        session.execute(delete(RfidTag).where(RfidTag.epc.in_(epcs)))
    delete_orders(session, orders)
    for model in (RfidTag, StockLevel):
        session.execute(delete(model).where(model.location_id == location_id))
    session.execute(delete(Location).where(Location.id == location_id))

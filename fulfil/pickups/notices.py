"""Business events of click and collect (fulfil.journal), with what each reader needs.

Customer notices are recorded without a location (the customer's messages are made from them; issue 12 delivers
them as webhooks): they carry the pickup code and QR payload. Events at the pickup store (its live stream, which
pickers read) never do: the store must get the code from the customer, not from its screen."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fulfil.journal import service as journal
from fulfil.models import Location, Order, OrderStatus, Shipment
from fulfil.pickups import codes


def _lines(shipment: Shipment) -> list[dict[str, Any]]:
    return [{"gtin": line.gtin, "qty": line.qty} for line in shipment.lines]


def _for_customer(order: Order, shipment: Shipment, store: Location) -> dict[str, Any]:
    """What a customer's message about a pickup needs: where, what, until when, and the code to show."""
    code = order.pickup_code
    return {
        "external_id": order.external_id,
        "customer_ref": order.customer_ref,
        "store": {"id": store.id, "name": store.name, "address": store.address, "opening_hours": store.opening_hours},
        "pickup_code": code,
        "pickup_code_display": codes.display(code) if code else None,
        "qr_payload": codes.qr_payload(order.id, code) if code else None,
        "lines": _lines(shipment),
        "ready_at": shipment.ready_at.isoformat() if shipment.ready_at else None,
        "expires_at": shipment.expires_at.isoformat() if shipment.expires_at else None,
        "order_ready": order.status is OrderStatus.READY_FOR_PICKUP,
    }


def _for_store(order: Order, shipment: Shipment) -> dict[str, Any]:
    return {
        "external_id": order.external_id,
        "customer_ref": order.customer_ref,
        "lines": _lines(shipment),
        "ready_at": shipment.ready_at.isoformat() if shipment.ready_at else None,
        "expires_at": shipment.expires_at.isoformat() if shipment.expires_at else None,
    }


def ready(session: Session, order: Order, shipment: Shipment, store: Location) -> None:
    """A pickup is ready: the customer's "ready for pickup" message (the store already has shipment.ready_for_pickup)."""
    journal.record(session, "pickup.ready", locations=[None], order_id=order.id, shipment_id=shipment.id, **_for_customer(order, shipment, store))


def reminder(session: Session, order: Order, shipment: Shipment, store: Location) -> None:
    """The hold period ends soon: the customer is reminded (with the code again), the store told."""
    journal.record(session, "pickup.reminder", locations=[None], order_id=order.id, shipment_id=shipment.id, **_for_customer(order, shipment, store))
    journal.record(session, "pickup.reminder", locations=[store.id], order_id=order.id, shipment_id=shipment.id, **_for_store(order, shipment))


def expired(session: Session, order: Order, shipment: Shipment, store: Location) -> None:
    """Not collected in time: its units are back in the store's stock (the store unpacks the bag), the customer told."""
    data = {**_for_store(order, shipment), "reason": "not_collected"}
    journal.record(session, "pickup.expired", locations=[store.id, None], order_id=order.id, shipment_id=shipment.id, **data)


def collected(session: Session, order: Order, shipment: Shipment, delivered: list[dict[str, Any]], refused: list[dict[str, Any]],
              override_reason: str | None) -> None:
    """Handed over: what the customer took and refused (order.collected follows when every part is collected)."""
    store = shipment.pickup_location_id
    data = {"external_id": order.external_id, "delivered": delivered, "refused": refused, "override": override_reason is not None}
    journal.record(session, "pickup.collected", locations=[store, None], order_id=order.id, shipment_id=shipment.id, **data)
    if refused:
        journal.record(session, "order.items_refused", locations=[store, None], order_id=order.id, shipment_id=shipment.id,
                       external_id=order.external_id, refused=refused)


def checked_in(session: Session, order: Order, store_id: str, checkin: dict[str, Any], ready: bool, *, updated: bool) -> None:
    """The customer is at the curb: the store is alerted on its live stream (and a curbside task is derived)."""
    journal.record(session, "pickup.checked_in", locations=[store_id], order_id=order.id, external_id=order.external_id,
                   customer_ref=order.customer_ref, ready=ready, updated=updated, **checkin)

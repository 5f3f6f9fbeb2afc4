"""The one check every piece of store work makes on an order ops hold (POST /orders/{id}/hold): it imports only the
model, so the shipments' workflow and the pages can use it without the order service."""

from __future__ import annotations

from fulfil.errors import Conflict
from fulfil.models import Order
from fulfil.models.base import utcnow


def check_not_held(order: Order) -> None:
    """Refuse work on a held order: 409 `order_on_hold`, saying why and until when."""
    if order.on_hold(utcnow()):
        until = f" until {order.held_until.isoformat()}" if order.held_until else " until ops release it"
        raise Conflict(f"order {order.id} is on hold{until}: {order.hold_reason}", code="order_on_hold",
                       details={"order_id": order.id, "held_until": order.held_until.isoformat() if order.held_until else None})

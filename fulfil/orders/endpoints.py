"""/api/v1/orders"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from fulfil.api_types import IdempotencyKey, Offset, RecordId
from fulfil.deps import CommittingRoute, OpsOnly, OpsOrPicker, OrderTaker, SessionDep, check_location
from fulfil.auth.service import Principal
from fulfil.models import Channel, Order, OrderStatus, Role
from fulfil.openapi import errors
from fulfil.orders import cancel, repository, service
from fulfil.orders.schemas import CancellationResult, CancelRequest, HoldRequest, OrderCreate, OrderRead, OrderSummary, PickupCodeRead
from fulfil.pickups import codes
from fulfil.tracking.schemas import TrackingLinkRead

router = APIRouter(prefix="/orders", tags=["orders"], route_class=CommittingRoute)


@router.post(
    "",
    response_model=OrderRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": OrderRead, "description": "The same order was posted before: the original is returned, nothing is created."},
        **errors(404, 409),
    },
)
def create_order(data: OrderCreate, request: Request, session: SessionDep, principal: OrderTaker, response: Response) -> OrderRead:
    """Take in a web or store order, idempotent by `external_id`, and route it at once (same transaction):
    the response carries its shipments, and `GET /orders/{id}/routing` says why. A channel token places web orders
    only, and may name a checkout hold (`hold_id`) whose units the order takes."""
    intake = service.take_in(session, data, principal, request.app.state.settings)
    if not intake.created:
        response.status_code = status.HTTP_200_OK
    return _read(intake.order, principal)


@router.get("", response_model=list[OrderSummary])
def list_orders(
    session: SessionDep,
    principal: OrderTaker,
    status_: Annotated[OrderStatus | None, Query(alias="status")] = None,
    channel: Channel | None = None,
    external_id: Annotated[str | None, Query(max_length=128)] = None,
    location_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[OrderSummary]:
    """Orders, newest first (a picker: those its store took, serves or hands over; a channel: those it placed)."""
    if principal.location_id is not None:
        location_id = location_id or principal.location_id
        check_location(principal, location_id)
    rows = repository.list_(
        session, status=status_, channel=channel, external_id=external_id, location_id=location_id, limit=limit, offset=offset,
        token_id=principal.token_id if principal.role is Role.CHANNEL else None,
    )
    return [OrderSummary.model_validate(r) for r in rows]


@router.get("/{order_id}", response_model=OrderRead)
def get_order(order_id: RecordId, session: SessionDep, principal: OrderTaker) -> OrderRead:
    """An order with its lines, shipments and parcels (and, for ops tokens, a click-and-collect order's pickup code)."""
    return _read(service.get_order(session, order_id, principal), principal)


def _read(order: Order, principal: Principal) -> OrderRead:
    """The order as the caller may see it: the pickup code and the tracking token go to ops and channel tokens only
    (those that tell the customer); a store reading the code off its own screen would make the code's check at
    handover meaningless, and the token would let it follow the customer's order after it left."""
    read = OrderRead.model_validate(order)
    if principal.role in (Role.OPS, Role.CHANNEL):
        if order.pickup_code is not None:
            read.pickup = PickupCodeRead(code=order.pickup_code, display=codes.display(order.pickup_code), qr_payload=codes.qr_payload(order.id, order.pickup_code))
        read.tracking = TrackingLinkRead(token=order.tracking_token, path=f"/api/v1/track/{order.tracking_token}")
    return read


@router.post("/{order_id}/hold", response_model=OrderRead, responses=errors(409))
def hold_order(order_id: RecordId, data: HoldRequest, session: SessionDep, principal: OpsOnly) -> OrderRead:
    """Hold an order (a fraud check, the customer asked to wait): no picking starts and nothing ships until `until`
    or until released (409 `order_on_hold` to a picker trying); its stock stays reserved. Journalled (`order.held`).
    409 `order_finished` for an order that left or was cancelled, `hold_already_over` for an end that has passed."""
    service.hold(session, order_id, data.reason, data.until, principal)
    order = repository.get_full(session, order_id)
    assert order is not None
    return _read(order, principal)


@router.post("/{order_id}/release-hold", response_model=OrderRead)
def release_order_hold(order_id: RecordId, session: SessionDep, principal: OpsOnly) -> OrderRead:
    """End an order's hold now (`order.hold_released`); an order not held is answered as it is."""
    service.release_hold(session, order_id, principal)
    order = repository.get_full(session, order_id)
    assert order is not None
    return _read(order, principal)


@router.post("/{order_id}/cancel", response_model=CancellationResult, responses=errors(409, 428))
def cancel_order(
    order_id: RecordId, data: CancelRequest, session: SessionDep, principal: OpsOrPicker, idempotency_key: IdempotencyKey = None
) -> CancellationResult:
    """Cancel the whole order (no `lines`) or some of its units, with a reason (ops: any order; a picker: store orders
    its store took). Unstarted shipments are released at once; units being picked, packed or waiting at a pickup
    store get a put-back task in that store's queue and are released when it is confirmed. Units that have left
    (shipped, in transit, collected) cannot be cancelled: they can be returned. Lines are all or nothing (409
    `already_left` or `too_many_units` naming the units) and need an Idempotency-Key (428 without); the same key
    and body again answer the first result (`replayed`), the key with another body is 409. A whole order asked
    again changes nothing. Every cancellation is journalled (`order.cancellation`) for the customer's notices."""
    outcome = cancel.cancel(session, order_id, data.reason, data.wanted(), principal, idempotency_key)
    order = repository.get_full(session, outcome.order.id)
    assert order is not None
    cancelled = [
        {"gtin": line["gtin"], "qty": line["qty"], "put_back_task_ids": line.get("put_back_task_ids", [])} for line in outcome.lines
    ]
    return CancellationResult.model_validate({
        "order": _read(order, principal),
        "cancellation_id": outcome.record.id if outcome.record is not None else None,
        "whole": outcome.whole,
        "cancelled": cancelled,
        "put_back_task_ids": [task for line in cancelled for task in line["put_back_task_ids"]],
        "replayed": outcome.replayed,
    })

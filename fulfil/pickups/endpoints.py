"""/api/v1/pickups: what waits at a pickup store, receiving a parcel by its scanned label, and the customer's
curbside check-in (public: guarded by the pickup code and a limit of failed attempts, not by a token)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from fulfil.api_types import Offset
from fulfil.deps import CommittingRoute, OpsOrPicker, SessionDep
from fulfil.errors import NotFound, TooManyRequests
from fulfil.models import Order, Shipment, ShipmentStatus
from fulfil.openapi import errors
from fulfil.orders.schemas import ShipmentRead
from fulfil.pickups import arrival, service
from fulfil.pickups.codes import CODE_INPUT_PATTERN
from fulfil.pickups.guard import FailedAttempts
from fulfil.pickups.schemas import CheckinRequest, CheckinResult, PickupLineRead, PickupParcelRead, PickupRead, ReceiveRequest

router = APIRouter(prefix="/pickups", tags=["pickups"], route_class=CommittingRoute)

PickupCodePath = Annotated[str, Path(pattern=CODE_INPUT_PATTERN, max_length=32, description="The customer's pickup code (case, spaces and dashes ignored).")]


def _read(shipment: Shipment, order: Order) -> PickupRead:
    assert shipment.pickup_location_id is not None
    return PickupRead(
        shipment_id=shipment.id, order_id=order.id, external_id=order.external_id, customer_ref=order.customer_ref,
        pickup_location_id=shipment.pickup_location_id, location_id=shipment.location_id, status=shipment.status,
        status_changed_at=shipment.status_changed_at, lines=[PickupLineRead.model_validate(line) for line in shipment.lines],
        parcels=[PickupParcelRead.model_validate(p) for p in shipment.parcels], ready_at=shipment.ready_at, expires_at=shipment.expires_at,
        reminded_at=shipment.reminded_at, checked_in_at=order.checked_in_at, checkin=order.checkin,
    )


@router.get("", response_model=list[PickupRead])
def list_pickups(
    session: SessionDep,
    principal: OpsOrPicker,
    location_id: Annotated[str | None, Query(max_length=64, description="The pickup store (a picker: its own, by default).")] = None,
    status: Annotated[ShipmentStatus | None, Query(description="Only this status (default: in_transit, received and ready_for_pickup).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[PickupRead]:
    """What is waiting at a pickup store, oldest first: parcels on their way to it (in_transit), arrived (received)
    and ready for the customer, with the order's reference, lines, parcels' SSCCs, hold period and curbside check-in.
    Ask for `status=collected` or `expired` to see those. Never the pickup code."""
    return [_read(s, o) for s, o in service.waiting(session, principal, location_id, status, limit, offset)]


@router.post("/receive", response_model=ShipmentRead, responses=errors(404, 409))
def receive_by_label(data: ReceiveRequest, session: SessionDep, principal: OpsOrPicker) -> ShipmentRead:
    """A ship-to-store parcel arrived: scan its label's SSCC. Its units enter the store's stock reserved for the order
    (in_transit -> received); mark it ready once it is staged. Scanning it again changes nothing."""
    return ShipmentRead.model_validate(arrival.receive_sscc(session, data.sscc, principal))


@router.post("/{code}/checkin", response_model=CheckinResult, responses=errors(404, 429))
def check_in(code: PickupCodePath, request: Request, session: SessionDep, data: CheckinRequest | None = None) -> CheckinResult:
    """The customer is here (curbside): no token, the pickup code is the key. The store is alerted on its live stream
    (`event: pickup`) and gets a curbside task. The answer says only the store's name and whether the order is ready;
    an unknown code and one of an order already collected or cancelled get the same 404, and a client address with
    too many of those is refused for a while (429, Retry-After)."""
    guard: FailedAttempts = request.app.state.pickup_guard
    client = request.client.host if request.client else "unknown"
    wait = guard.retry_after(client, time.monotonic())
    if wait is not None:
        raise TooManyRequests(f"too many check-ins with unknown codes from this address: try again in {wait} s", retry_after=wait)
    try:
        done = service.checkin(session, code, data or CheckinRequest())
    except service.UnknownCode:
        guard.failed(client, time.monotonic())
        raise NotFound("no pickup is waiting for this code: check the code in your message") from None
    details = done.checkin
    return CheckinResult(store_name=done.store_name, ready=done.ready, checked_in_at=done.checked_in_at,
                         bay=details.get("bay"), car=details.get("car"), note=details.get("note"))

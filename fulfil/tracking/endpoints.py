"""/api/v1/track/{code}: customer tracking (public: guarded by the token's size and a limit of failed attempts)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Request

from fulfil.deps import CommittingRoute, SessionDep
from fulfil.errors import NotFound, TooManyRequests
from fulfil.openapi import errors
from fulfil.pickups.guard import FailedAttempts
from fulfil.tracking import service
from fulfil.tracking.schemas import TrackingRead

router = APIRouter(prefix="/track", tags=["tracking"], route_class=CommittingRoute)

TrackingCodePath = Annotated[str, Path(
    pattern=r"^[A-Za-z0-9 -]{1,64}$", max_length=64,
    description="The order's tracking token (32 hex digits, from its tracking link) or, for click and collect, its pickup code "
    "(case, spaces and dashes ignored).",
)]


@router.get("/{code}", response_model=TrackingRead, responses=errors(404, 429))
def track(code: TrackingCodePath, request: Request, session: SessionDep) -> TrackingRead:
    """What the customer may know about their order, with no token: the tracking token or pickup code is the key.
    The status in the customer's words, for click and collect the store's name, address and opening hours and until
    when a ready order is held, and the parcels' SSCCs and whether they left; never prices, lines, the delivery
    address or anything of other orders. An unknown code is 404, and a client address with too many of those is
    refused for a while (429, Retry-After), whatever it asks."""
    guard: FailedAttempts = request.app.state.tracking_guard
    client = request.client.host if request.client else "unknown"
    wait = guard.retry_after(client, time.monotonic())
    if wait is not None:
        raise TooManyRequests(f"too many unknown tracking codes from this address: try again in {wait} s", retry_after=wait)
    try:
        return service.track(session, code)
    except service.UnknownCode:
        guard.failed(client, time.monotonic())
        raise NotFound("no order has this tracking code: check the link or the code in your message") from None

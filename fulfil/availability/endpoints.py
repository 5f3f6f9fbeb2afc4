"""/api/v1/availability"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic_core import to_json

from fulfil.availability import service
from fulfil.availability.schemas import MAX_RADIUS_KM, AvailabilityQuery, AvailabilityResult, Near, ProductAvailability
from fulfil.catalog.schemas import Gtin
from fulfil.deps import CommittingRoute, LocationIndexDep, OpsOrChannel, SessionDep
from fulfil.errors import InvalidInput
from fulfil.openapi import errors

_LAT = r"-?(90(\.0+)?|[1-8]?[0-9](\.[0-9]+)?)"
_LON = r"-?(180(\.0+)?|(1[0-7][0-9]|[1-9]?[0-9])(\.[0-9]+)?)"
NEAR_PATTERN = f"^{_LAT},{_LON}$"

router = APIRouter(prefix="/availability", tags=["channels"], route_class=CommittingRoute)


@router.get("", response_model=ProductAvailability, responses=errors(404))
def availability(
    request: Request,
    session: SessionDep,
    _: OpsOrChannel,
    index: LocationIndexDep,
    gtin: Annotated[Gtin, Query()],
    location_id: Annotated[str | None, Query(max_length=64, description="Only this location (listed even without stock).")] = None,
    near: Annotated[str | None, Query(max_length=64, pattern=NEAR_PATTERN, description='Only stores near "lat,lon" in degrees (e.g. 45.76,4.83), nearest first.')] = None,
    radius_km: Annotated[float, Query(gt=0, le=MAX_RADIUS_KM, description="With `near`: the radius (km).")] = 25.0,
) -> ProductAvailability:
    """Available to promise of one product, exact at this moment: network-wide (delivery) and per location (every
    location holding some, the one asked, or the stores near a point). Safety stock and reserved units (orders,
    checkout holds) are never shown as available."""
    data = AvailabilityQuery(
        gtins=[gtin], location_ids=[location_id] if location_id is not None else None,
        near=_near(near, radius_km) if near is not None else None,
    )
    return _json(service.query(session, data, request.app.state.settings.availability_limited_max, index)[0])  # type: ignore[return-value]


@router.post("/query", response_model=AvailabilityResult, responses=errors(404))
def availability_query(data: AvailabilityQuery, request: Request, session: SessionDep, _: OpsOrChannel, index: LocationIndexDep) -> AvailabilityResult:
    """Availability of many products at many locations in one call (reads only: nothing is reserved)."""
    return _json({"items": service.query(session, data, request.app.state.settings.availability_limited_max, index)})  # type: ignore[return-value]


def _json(body: dict[str, object]) -> Response:
    """The answer serialised as it is (in the documented shape, checked by the contract tests): 1,000 rows through
    response-model validation would cost more than reading them."""
    return Response(content=to_json(body), media_type="application/json")


def _near(text: str, radius_km: float) -> Near:
    """`lat,lon` as a point (422 naming the parameter when it is not one)."""
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError("expected lat,lon")
        return Near(lat=float(parts[0]), lon=float(parts[1]), radius_km=radius_km)
    except ValueError as exc:
        raise InvalidInput(
            "invalid request: near must be lat,lon in degrees", details=[{"field": "query.near", "message": str(exc).splitlines()[0], "type": "near"}]
        ) from exc

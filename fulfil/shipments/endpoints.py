"""/api/v1/shipments"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from fulfil.deps import CommittingRoute, OpsOrPicker, SessionDep, check_location
from fulfil.models import ShipmentStatus
from fulfil.orders.schemas import ShipmentRead
from fulfil.routing_runs.schemas import RoutingDecisionRead
from fulfil.shipments import repository, service
from fulfil.shipments.schemas import RejectRequest, RejectResult

router = APIRouter(prefix="/shipments", tags=["shipments"], route_class=CommittingRoute)


@router.get("", response_model=list[ShipmentRead])
def list_shipments(
    session: SessionDep,
    principal: OpsOrPicker,
    location_id: Annotated[str | None, Query(max_length=64)] = None,
    status: ShipmentStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ShipmentRead]:
    """Shipments to work, oldest first (a picker: its store's)."""
    if principal.location_id is not None:
        location_id = location_id or principal.location_id
        check_location(principal, location_id)
    return [ShipmentRead.model_validate(s) for s in repository.list_(session, location_id=location_id, status=status, limit=limit, offset=offset)]


@router.get("/{shipment_id}", response_model=ShipmentRead)
def get_shipment(shipment_id: int, session: SessionDep, principal: OpsOrPicker) -> ShipmentRead:
    """One shipment with its lines and parcels."""
    return ShipmentRead.model_validate(service.get(session, shipment_id, principal))


@router.post("/{shipment_id}/reject", response_model=RejectResult)
def reject_shipment(shipment_id: int, data: RejectRequest, request: Request, session: SessionDep, principal: OpsOrPicker) -> RejectResult:
    """The location cannot fulfil it (short pick, damage): it is released and the order re-routed elsewhere."""
    rejected, routed = service.reject(session, shipment_id, data.reason, principal, request.app.state.settings)
    return RejectResult(
        rejected=ShipmentRead.model_validate(rejected),
        rerouted=RoutingDecisionRead.model_validate(routed.decision),
        new_shipments=[ShipmentRead.model_validate(s) for s in routed.shipments],
    )

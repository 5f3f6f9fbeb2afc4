"""/api/v1/shipments"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from fulfil.api_types import MAX_ID, Offset, RecordId, RequiredIdempotencyKey
from fulfil.deps import CommittingRoute, OpsOrPicker, SessionDep, check_location
from fulfil.models import ScanOutcome, ShipmentStatus
from fulfil.orders.schemas import ShipmentRead
from fulfil.routing_runs.schemas import RoutingDecisionRead
from fulfil.errors import NotFound
from fulfil.openapi import errors
from fulfil.pickups import arrival, handover
from fulfil.pickups import service as pickups
from fulfil.pickups.schemas import HandoverRequest, HandoverResult, RefusedRead
from fulfil.shipments import pick_lists, repository, scans, service, short_picks, verification, workflow
from fulfil.shipments.schemas import (
    BatchScanRead, BatchScanRequest, OverrideRequest, PackRequest, PackResult, PickLineRead, PickListRead, PickSlot, RejectRequest, RejectResult, ScanLine,
    ScanRequest, ScanResultRead, ShortPickCreate, ShortPickResult, UnitsRead, VerificationRead,
)

router = APIRouter(prefix="/shipments", tags=["shipments"], route_class=CommittingRoute)
pick_lists_router = APIRouter(prefix="/pick-lists", tags=["store app"], route_class=CommittingRoute)


@router.get("", response_model=list[ShipmentRead])
def list_shipments(
    session: SessionDep,
    principal: OpsOrPicker,
    location_id: Annotated[str | None, Query(max_length=64)] = None,
    status: ShipmentStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[ShipmentRead]:
    """Shipments to work, oldest first (a picker: its store's)."""
    if principal.location_id is not None:
        location_id = location_id or principal.location_id
        check_location(principal, location_id)
    return [ShipmentRead.model_validate(s) for s in repository.list_(session, location_id=location_id, status=status, limit=limit, offset=offset)]


@router.get("/{shipment_id}", response_model=ShipmentRead)
def get_shipment(shipment_id: RecordId, session: SessionDep, principal: OpsOrPicker) -> ShipmentRead:
    """One shipment with its lines and parcels."""
    return ShipmentRead.model_validate(service.get(session, shipment_id, principal))


@router.post("/{shipment_id}/reject", response_model=RejectResult, responses=errors(409))
def reject_shipment(shipment_id: RecordId, data: RejectRequest, request: Request, session: SessionDep, principal: OpsOrPicker) -> RejectResult:
    """The location cannot fulfil it (short pick, damage): it is released and the order re-routed elsewhere."""
    rejected, routed = service.reject(session, shipment_id, data.reason, principal, request.app.state.settings, data.picked_units)
    return RejectResult(
        rejected=ShipmentRead.model_validate(rejected),
        rerouted=RoutingDecisionRead.model_validate(routed.decision),
        new_shipments=[ShipmentRead.model_validate(s) for s in routed.shipments],
    )


@router.post("/{shipment_id}/short", response_model=ShortPickResult, responses=errors(409))
def short_pick(
    shipment_id: RecordId, data: ShortPickCreate, request: Request, session: SessionDep, principal: OpsOrPicker,
    idempotency_key: RequiredIdempotencyKey,
) -> ShortPickResult:
    """Some units could not be picked (ops, or the serving store's picker; while picking, picked or packed). The found
    units continue (a packed parcel is packed again; a shipment with none left is rejected); the short units are
    split off and routed elsewhere, never back to this location for those products. Stock follows the reason:
    `not_found` counts on-hand down here and raises a cycle count of the product; `damaged` moves the units to
    quarantine (not sellable). More units than the shipment carries is 409 `exceeds_shipment`. Exactly once per
    Idempotency-Key: a retry answers the first result (`replayed`); the key with another body is 409."""
    done = short_picks.short_pick(
        session, shipment_id, data.reason, data.wanted(), principal, request.app.state.settings, idempotency_key
    )
    return ShortPickResult(
        shipment=ShipmentRead.model_validate(done.shipment),
        reason=done.reason,
        short=[UnitsRead(gtin=g, qty=q) for g, q in done.units.items()],
        rerouted=RoutingDecisionRead.model_validate(done.decision),
        new_shipments=[ShipmentRead.model_validate(s) for s in done.new_shipments],
        replayed=done.replayed,
    )


@router.post("/{shipment_id}/start", response_model=ShipmentRead, responses=errors(409))
def start_picking(shipment_id: RecordId, session: SessionDep, principal: OpsOrPicker) -> ShipmentRead:
    """A picker takes the shipment (it can no longer be moved by re-optimisation)."""
    workflow.start_picking(session, shipment_id, principal)
    return ShipmentRead.model_validate(service.get(session, shipment_id, principal))


@router.post("/{shipment_id}/scans", response_model=ScanResultRead, responses=errors(409))
def scan(shipment_id: RecordId, data: ScanRequest, session: SessionDep, principal: OpsOrPicker) -> ScanResultRead:
    """A scan while picking (a started shipment, claimed by the caller or nobody): one unit of an item the shipment
    carries is counted on its line; anything else (another product, one too many, a tag already counted, a parcel
    label, an unreadable code) is refused with a message (`accepted: false`). Recorded either way under `scan_id`:
    sent again, it gets the same answer and counts once. 409 `claimed` when another picker holds the shipment."""
    return _scan_read(scans.scan(session, shipment_id, data.scan_id, data.code, principal))


def _scan_read(done: scans.ScanResult) -> ScanResultRead:
    lines = done.shipment.lines
    return ScanResultRead(
        scan_id=done.scan.scan_id, accepted=done.scan.outcome is ScanOutcome.ACCEPTED, outcome=done.scan.outcome, message=done.scan.message,
        gtin=done.scan.gtin, epc=done.scan.epc, replayed=done.replayed,
        lines=[ScanLine(gtin=ln.gtin, qty=ln.qty, picked_qty=ln.picked_qty) for ln in lines],
        picked_units=sum(ln.picked_qty for ln in lines), total_units=sum(ln.qty for ln in lines),
    )


@router.post("/{shipment_id}/release", response_model=ShipmentRead, responses=errors(409))
def release(shipment_id: RecordId, session: SessionDep, principal: OpsOrPicker) -> ShipmentRead:
    """Give up a shipment being picked (its claimant, or ops): another picker may take it over where it stands."""
    scans.release(session, shipment_id, principal)
    return ShipmentRead.model_validate(service.get(session, shipment_id, principal))


@router.post("/{shipment_id}/picked", response_model=ShipmentRead, responses=errors(409))
def mark_picked(shipment_id: RecordId, session: SessionDep, principal: OpsOrPicker) -> ShipmentRead:
    """Everything is picked (units that could not be: POST /shipments/{id}/short first)."""
    workflow.mark_picked(session, shipment_id, principal)
    return ShipmentRead.model_validate(service.get(session, shipment_id, principal))


@router.post("/{shipment_id}/pack", response_model=PackResult, responses=errors(409))
def pack(shipment_id: RecordId, data: PackRequest, request: Request, session: SessionDep, principal: OpsOrPicker) -> PackResult:
    """Start packing at a pack station: a parcel with an SSCC (a pre-printed label's, or allocated) is created and RFID
    verifies its contents there."""
    _, parcel, epc = workflow.pack(session, shipment_id, data.station, principal, request.app.state.settings.sscc_company_prefix, data.sscc)
    return PackResult(shipment=ShipmentRead.model_validate(service.get(session, shipment_id, principal)), sscc=parcel.sscc, sscc_epc=epc)


@router.get("/{shipment_id}/verification", response_model=VerificationRead)
def get_verification(shipment_id: RecordId, session: SessionDep, principal: OpsOrPicker) -> VerificationRead:
    """The newest RFID verdict on the parcel: complete, or missing / extra / wrong-quantity / foreign tags."""
    service.get(session, shipment_id, principal)
    row = verification.latest(session, shipment_id)
    if row is None:
        raise NotFound(f"no verdict yet for shipment {shipment_id}", details={"shipment_id": shipment_id})
    return VerificationRead.model_validate(row)


@router.post("/{shipment_id}/override", response_model=ShipmentRead, responses=errors(409))
def override(shipment_id: RecordId, data: OverrideRequest, session: SessionDep, principal: OpsOrPicker) -> ShipmentRead:
    """Close a packed parcel without a complete RFID verdict (a tag that cannot be read, the station's reader down):
    packed -> verified on the caller's word; the reason and who gave it are kept in the shipment's journal. 409
    `not_packed` for a shipment not packed; again on a verified one changes nothing."""
    workflow.close_unverified(session, shipment_id, data.reason, principal)
    return ShipmentRead.model_validate(service.get(session, shipment_id, principal))


@router.post("/{shipment_id}/ship", response_model=ShipmentRead, responses=errors(409))
def ship(shipment_id: RecordId, session: SessionDep, principal: OpsOrPicker) -> ShipmentRead:
    """The verified parcel leaves: stock is consumed, tags and parcel become shipped. A ship-to-store parcel goes
    in transit to its pickup store; one collected where it was packed does not ship (409: mark it ready)."""
    workflow.ship(session, shipment_id, principal)
    return ShipmentRead.model_validate(service.get(session, shipment_id, principal))


@router.post("/{shipment_id}/receive", response_model=ShipmentRead, responses=errors(409))
def receive(shipment_id: RecordId, session: SessionDep, principal: OpsOrPicker) -> ShipmentRead:
    """A ship-to-store parcel arrived at its pickup store (in_transit -> received): its units enter that store's stock
    reserved for the order. Receiving it again changes nothing. (Scanning the label: POST /pickups/receive.)"""
    return ShipmentRead.model_validate(arrival.receive(session, shipment_id, principal))


@router.post("/{shipment_id}/ready", response_model=ShipmentRead, responses=errors(409))
def ready(shipment_id: RecordId, session: SessionDep, principal: OpsOrPicker) -> ShipmentRead:
    """Staged at the pickup store: verified there (same store) or received (ship-to-store) -> ready_for_pickup. The
    customer is told (with the pickup code); the units stay reserved until the handover or the store's hold period
    ends (then they return to stock and the order is cancelled as not collected). Again: changes nothing."""
    return ShipmentRead.model_validate(pickups.ready(session, shipment_id, principal))


@router.post("/{shipment_id}/handover", response_model=HandoverResult, responses=errors(409))
def hand_over(shipment_id: RecordId, data: HandoverRequest, session: SessionDep, principal: OpsOrPicker) -> HandoverResult:
    """The customer collects it (ready_for_pickup -> collected) on showing the pickup code (403 when it does not
    match; ops only: `override_reason` instead). Refused units go back into the store's stock, or into quarantine
    when damaged. A retry with the same body answers the same; another body is 409."""
    done = handover.hand_over(session, shipment_id, data, principal)
    row = done.handover
    return HandoverResult(
        shipment=ShipmentRead.model_validate(done.shipment), order_id=done.order.id, order_status=done.order.status,
        delivered=[UnitsRead(**u) for u in done.delivered], refused=[RefusedRead(**r) for r in row.refused],
        authorised_by="override" if row.override_reason is not None else "pickup_code", override_reason=row.override_reason,
        handed_over_at=row.created_at, handed_over_by=row.actor,
    )


def _slots(batch: pick_lists.PickList) -> list[PickSlot]:
    return [
        PickSlot(slot=i, colour=pick_lists.SLOT_COLOURS[i - 1], shipment_id=s.id, order_id=s.order_id,
                 qty=sum(ln.qty for ln in s.lines), picked_qty=sum(ln.picked_qty for ln in s.lines))
        for i, s in enumerate(batch.shipments, start=1)
    ]


@pick_lists_router.get("", response_model=PickListRead, responses=errors(404, 409))
def pick_list(
    session: SessionDep, principal: OpsOrPicker,
    shipment_id: Annotated[
        list[Annotated[int, Query(ge=1, le=MAX_ID)]],
        Query(min_length=1, max_length=8, json_schema_extra={"uniqueItems": True}, description="One shipment, or up to 8 picked together (slots in this order), each once."),
    ],
) -> PickListRead:
    """What to pick, in walking order through the store (aisle, bay, shelf), for one shipment or a batch picked
    together: each line is a product at its place with what each slot (a tote or bag, numbered and coloured) needs."""
    batch = pick_lists.pick_list(session, shipment_id, principal)
    slots = _slots(batch)
    lines = [
        PickLineRead(
            gtin=ln.gtin, name=ln.name, size=ln.size, colour=ln.colour, aisle=ln.aisle, bay=ln.bay, shelf=ln.shelf, qty=ln.qty, picked_qty=ln.picked_qty,
            slots=[slots[i - 1].model_copy(update={"qty": q, "picked_qty": p}) for i, (q, p) in sorted(ln.slots.items())],
        )
        for ln in batch.lines
    ]
    return PickListRead(location_id=batch.shipments[0].location_id, slots=slots, lines=lines)


@pick_lists_router.post("/scans", response_model=BatchScanRead, responses=errors(404, 409))
def batch_scan(data: BatchScanRequest, session: SessionDep, principal: OpsOrPicker) -> BatchScanRead:
    """A scan while picking a batch: it goes to the first slot that still needs the product, and the answer names
    the slot to put it in. Otherwise as `POST /shipments/{id}/scans` (refusals, one count per scan_id)."""
    done = pick_lists.scan_for_batch(session, data.shipment_ids, data.scan_id, data.code, principal)
    single = _scan_read(done.result)
    return BatchScanRead(**single.model_dump(), slot=done.slot, slot_colour=pick_lists.SLOT_COLOURS[done.slot - 1], shipment_id=done.result.shipment.id)

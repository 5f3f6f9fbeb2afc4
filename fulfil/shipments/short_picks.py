"""Partial short picks: a store finds fewer units than a shipment asks for. The found units continue; the short
ones are split off, booked by their reason (not found: on-hand counted down and a cycle count raised; damaged:
quarantined, not sellable) and routed elsewhere, never back to this location for that product of the order."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.config import Settings
from fulfil.errors import Conflict, InvalidTransition
from fulfil.journal import service as journal
from fulfil.models import (
    RoutingDecision, Shipment, ShipmentStatus, ShortPick, ShortPickRequest, ShortReason, StockCause, StockEventKind, StoreTask,
)
from fulfil.shipments import repository, service
from fulfil.shipments.states import advance
from fulfil.shipments.workflow import unpack
from fulfil.stock import service as stock
from fulfil.tasks import service as tasks

S = ShipmentStatus
# While the units are being picked, or packed (the parcel is then packed again): a verified parcel is sealed.
SHORTABLE = (S.PICKING, S.PICKED, S.PACKED)


@dataclass(frozen=True)
class Shorted:
    """A short pick answered: the shipment after it, the units split off, the re-routing and its new shipments."""

    shipment: Shipment
    reason: ShortReason
    units: dict[str, int]
    decision: RoutingDecision
    new_shipments: list[Shipment]
    replayed: bool


def fingerprint(reason: ShortReason, units: dict[str, int]) -> str:
    """A short pick as sent (lines merged per GTIN), to tell a retry from a reused Idempotency-Key."""
    body = {"reason": reason.value, "lines": sorted(units.items())}
    return hashlib.sha256(json.dumps(body, separators=(",", ":")).encode()).hexdigest()


def short_pick(session: Session, shipment_id: int, reason: ShortReason, units: dict[str, int], principal: Principal,
               settings: Settings, idempotency_key: str) -> Shorted:
    """Record units of a shipment that could not be picked (ops, or the serving store's picker), exactly once per
    Idempotency-Key: a retry answers the first result. The order is locked before the shipment (the lock order of
    every writer), so a cancellation and a short pick of the same order never interleave."""
    shipment = service.get_to_work(session, shipment_id, principal)
    request_hash = fingerprint(reason, units)
    earlier = repository.short_request(session, shipment.id, idempotency_key)
    if earlier is not None:
        return _replay(session, shipment, earlier, request_hash, reason, units)
    if shipment.status not in SHORTABLE:
        raise InvalidTransition(
            f"shipment {shipment.id} is {shipment.status.value}: a short pick is recorded while picking, picked or packed",
            details={"shipment_id": shipment.id, "status": shipment.status.value, "allowed": [s.value for s in SHORTABLE]},
        )
    _check_on_shipment(shipment, units)
    request = ShortPickRequest(shipment_id=shipment.id, idempotency_key=idempotency_key, request_hash=request_hash, actor=principal.label)
    session.add(request)
    session.flush()
    counts = [_book(session, shipment, request, gtin, qty, reason, principal.label) for gtin, qty in units.items()]
    what = ", ".join(f"{qty} x {gtin}" for gtin, qty in units.items())
    if not shipment.lines:
        service.free_tags(session, shipment)
        advance(shipment, S.REJECTED, reason=f"short pick ({reason.value}): nothing of it was found to pick")
    else:
        unpack(session, shipment, f"short pick ({reason.value}): {what}")
    journal.record(
        session, "shipment.short_picked", locations=[shipment.location_id], order_id=shipment.order_id, shipment_id=shipment.id,
        reason=reason.value, lines=[{"gtin": g, "qty": q} for g, q in units.items()], actor=principal.label,
        cycle_count_task_ids=sorted({task.id for task in counts if task is not None}),
    )
    session.flush()
    routed = service.route_again(
        session, shipment, f"re-routed after a short pick at {shipment.location_id} ({reason.value}: {what})", principal.label, settings
    )
    request.routing_decision_id = routed.decision.id
    request.new_shipment_ids = [s.id for s in routed.shipments]
    session.flush()
    return Shorted(service.get(session, shipment.id, principal), reason, units, routed.decision, routed.shipments, replayed=False)


def _check_on_shipment(shipment: Shipment, units: dict[str, int]) -> None:
    """Every unit said short is one the shipment carries: all or nothing, 409 naming the lines."""
    refused = []
    for gtin, qty in units.items():
        carried = sum(sl.qty for sl in shipment.lines if sl.gtin == gtin)
        if qty > carried:
            refused.append({"gtin": gtin, "requested": qty, "on_shipment": carried})
    if refused:
        what = "; ".join(f"{r['requested']} x {r['gtin']} short, the shipment carries {r['on_shipment']}" for r in refused)
        raise Conflict(f"shipment {shipment.id}: nothing was recorded, more units said short than it carries: {what}",
                       details=refused, code="exceeds_shipment")


def _book(session: Session, shipment: Shipment, request: ShortPickRequest, gtin: str, qty: int, reason: ShortReason,
          actor: str) -> StoreTask | None:
    """Split `qty` units of a GTIN off the shipment and book them by the reason, where they were reserved. No tag is
    taken to be one of them (which EPCs are missing or damaged is not known). Returns the cycle count raised, if any."""
    service.take_units(shipment, gtin, qty)
    why = f"short pick: {reason.value.replace('_', ' ')}"
    cause = stock.Cause(StockCause.ORDER, actor=actor, order_id=shipment.order_id, shipment_id=shipment.id, reason=why)
    key = f"short:{request.id}:{gtin}"
    count = None
    if reason is ShortReason.NOT_FOUND:
        stock.consume_reserved(session, shipment.held_at, gtin, qty, StockEventKind.LOSS, cause, idempotency_key=key)
        count = tasks.open_cycle_count(session, shipment.held_at, gtin, why, order_id=shipment.order_id, shipment_id=shipment.id)
    else:
        stock.move(session, shipment.held_at, gtin, StockEventKind.QUARANTINE, cause, on_hand_delta=-qty, reserved_delta=-qty,
                   quarantine_delta=qty, idempotency_key=key)
    session.add(ShortPick(shipment_id=shipment.id, order_id=shipment.order_id, location_id=shipment.location_id, gtin=gtin, qty=qty,
                          reason=reason, actor=actor))
    return count


def _replay(session: Session, shipment: Shipment, earlier: ShortPickRequest, request_hash: str, reason: ShortReason,
            units: dict[str, int]) -> Shorted:
    """The same short pick again: its first result, with the shipments as they are now; another body is a conflict."""
    if earlier.request_hash != request_hash:
        raise Conflict(
            "this Idempotency-Key was already used for a different short pick of this shipment: use a new key",
            details={"shipment_id": shipment.id}, code="idempotency_conflict",
        )
    decision = session.get(RoutingDecision, earlier.routing_decision_id)
    assert decision is not None
    created = [s for s in (repository.get(session, i) for i in earlier.new_shipment_ids) if s is not None]
    return Shorted(shipment, reason, units, decision, created, replayed=True)

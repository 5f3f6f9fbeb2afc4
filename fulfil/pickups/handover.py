"""Handing a click-and-collect parcel to the customer: checked by the pickup code (or an ops override with a
reason), with what the customer refused at the counter.

Stock at the store holding it (Shipment.held_at), per shipment line: delivered units leave with the customer
(`collection`: on-hand and reserved -qty); refused undamaged units are released (back in the store's sellable
stock at once); refused damaged units go from reserved to quarantine (`quarantine`: on-hand and reserved -qty,
quarantined +qty). Keys `handover:<shipment>:<line>:collected|refused|quarantined`.

Exactly once: the order and shipment rows are locked and the `handovers` row (one per shipment) records the
request's fingerprint, so a retry with the same body answers the same result and a different body is a conflict."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.errors import Conflict, Forbidden
from fulfil.models import Handover, Order, ParcelStatus, Role, Shipment, ShipmentStatus, StockCause, StockEventKind, TagState
from fulfil.pickups import codes, notices, repository
from fulfil.pickups.schemas import HandoverRequest
from fulfil.pickups.service import locked, refresh_order
from fulfil.shipments.states import advance
from fulfil.stock import service as stock

S = ShipmentStatus


@dataclass(frozen=True)
class Handed:
    """A handover as recorded, with the shipment and order as they are now."""

    order: Order
    shipment: Shipment
    handover: Handover

    @property
    def delivered(self) -> list[dict[str, Any]]:
        """Units the customer took, per GTIN: the shipment's units less those refused."""
        return delivered_units(self.shipment, self.handover.refused)


def delivered_units(shipment: Shipment, refused: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The shipment's units per GTIN less the refused ones (the same sum the returns flow makes from `refused`)."""
    units: dict[str, int] = defaultdict(int)
    for line in shipment.lines:
        units[line.gtin] += line.qty
    for r in refused:
        units[r["gtin"]] -= r["qty"]
    return [{"gtin": g, "qty": q} for g, q in units.items() if q > 0]


def request_hash(data: HandoverRequest) -> str:
    """A fingerprint of a handover as asked (how it was authorised, not the code itself; the refusals in a stable
    order), to tell a retry from a different handover of the same parcel."""
    body = {
        "authorised_by": "override" if data.override_reason is not None else "pickup_code",
        "override_reason": data.override_reason,
        "refused": _refused(data),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _refused(data: HandoverRequest) -> list[dict[str, Any]]:
    """The refusals as stored (the shape the returns flow reads): [{gtin, qty, damaged, reason}], in a stable order."""
    rows = []
    for r in data.refused:
        row: dict[str, Any] = {"gtin": r.gtin, "qty": r.qty, "damaged": r.damaged, "reason": r.reason}
        if r.epcs is not None:
            row["epcs"] = sorted({epc.upper() for epc in r.epcs})
        rows.append(row)
    return sorted(rows, key=lambda r: (r["gtin"], r["damaged"], r["reason"], r["qty"], r.get("epcs", [])))


def hand_over(session: Session, shipment_id: int, data: HandoverRequest, principal: Principal) -> Handed:
    """ready_for_pickup -> collected, authorised by the customer's code (or, ops only, an override with a reason). A
    wrong code is refused and changes nothing."""
    order, shipment = locked(session, shipment_id, principal)
    _authorise(order, shipment, data, principal)
    fingerprint = request_hash(data)
    earlier = repository.handover_of(session, shipment.id)
    if earlier is not None:
        if earlier.request_hash != fingerprint:
            raise Conflict(
                f"shipment {shipment.id} was already handed over, with other refusals or authorisation: a handover is made once",
                details={"shipment_id": shipment.id, "refused": earlier.refused, "handed_over_at": earlier.created_at.isoformat()},
                code="already_handed_over",
            )
        return Handed(order, shipment, earlier)
    if shipment.status is not S.READY_FOR_PICKUP:
        advance(shipment, S.COLLECTED)  # refused, naming what is allowed (a received parcel is made ready first)
    refused = _refused(data)
    _check_refusals(shipment, refused)
    _check_refused_tags(session, shipment, refused)
    _move_stock(session, order, shipment, refused, principal.label)
    _move_tags(session, shipment, refused)
    for parcel in shipment.parcels:
        parcel.status = ParcelStatus.COLLECTED
    advance(shipment, S.COLLECTED)
    handover = Handover(
        shipment_id=shipment.id, order_id=order.id, location_id=shipment.held_at, request_hash=fingerprint,
        override_reason=data.override_reason, refused=refused, actor=principal.label,
    )
    session.add(handover)
    refresh_order(session, order)
    notices.collected(session, order, shipment, delivered_units(shipment, refused), refused, data.override_reason)
    session.flush()
    return Handed(order, shipment, handover)


def _authorise(order: Order, shipment: Shipment, data: HandoverRequest, principal: Principal) -> None:
    if data.override_reason is not None:
        if principal.role is not Role.OPS:
            raise Forbidden(
                "only an ops token may hand over without the pickup code: ask the customer for it",
                details={"role": principal.role.value}, code="override_not_allowed",
            )
        return
    assert data.pickup_code is not None
    if not codes.matches(order.pickup_code, data.pickup_code):
        raise Forbidden(
            "the pickup code does not match this order: nothing was handed over (ask the customer for the code in their "
            "message; without it, ops may hand over with an override_reason)",
            details={"shipment_id": shipment.id, "field": "body.pickup_code"}, code="wrong_pickup_code",
        )


def _check_refusals(shipment: Shipment, refused: list[dict[str, Any]]) -> None:
    """Refused units are units of this parcel: each GTIN in it, never more units than it carries."""
    carried: dict[str, int] = defaultdict(int)
    for line in shipment.lines:
        carried[line.gtin] += line.qty
    asked: dict[str, int] = defaultdict(int)
    for r in refused:
        asked[r["gtin"]] += r["qty"]
    unknown = sorted(g for g in asked if g not in carried)
    if unknown:
        raise Conflict(
            f"shipment {shipment.id} carries no {', '.join(unknown)}: only its own units can be refused",
            details={"shipment_id": shipment.id, "gtins": unknown, "carried": dict(carried)}, code="not_in_shipment",
        )
    over = {g: {"refused": q, "carried": carried[g]} for g, q in asked.items() if q > carried[g]}
    if over:
        raise Conflict(
            f"more units refused than shipment {shipment.id} carries", details={"shipment_id": shipment.id, "over": over},
            code="refused_more_than_carried",
        )


def _check_refused_tags(session: Session, shipment: Shipment, refused: list[dict[str, Any]]) -> None:
    """Tags named for refused units are as many as the units, each once, and each a tag of this parcel of that
    product (nothing else can be given back through this parcel)."""
    named: set[str] = set()
    problems: list[dict[str, Any]] = []
    for r in refused:
        epcs = r.get("epcs")
        if epcs is None:
            continue
        if len(epcs) != r["qty"]:
            problems.append({"gtin": r["gtin"], "qty": r["qty"], "epcs": len(epcs), "message": "name as many tags as units refused, each once"})
            continue
        parcel = set(repository.tags_of(session, shipment.id, [TagState.PACKED], r["gtin"]))
        foreign = sorted(set(epcs) - parcel)
        again = sorted(set(epcs) & named)
        named |= set(epcs)
        if foreign:
            problems.append({"gtin": r["gtin"], "not_in_parcel": foreign, "message": "not a tag of this parcel of that product"})
        if again:
            problems.append({"gtin": r["gtin"], "named_twice": again, "message": "a tag can be refused once"})
    if problems:
        raise Conflict(
            f"the refused tags do not match shipment {shipment.id}'s parcel: nothing was handed over",
            details={"shipment_id": shipment.id, "problems": problems}, code="refused_tags_mismatch",
        )


def _split(shipment: Shipment, refused: list[dict[str, Any]]) -> dict[int, tuple[int, int, int]]:
    """Per shipment line: (delivered, refused undamaged, refused damaged), refusals spread over a GTIN's lines in order."""
    left = {(r["gtin"], r["damaged"]): 0 for r in refused}
    for r in refused:
        left[(r["gtin"], r["damaged"])] += r["qty"]
    out = {}
    for line in shipment.lines:
        damaged = min(line.qty, left.get((line.gtin, True), 0))
        undamaged = min(line.qty - damaged, left.get((line.gtin, False), 0))
        if damaged:
            left[(line.gtin, True)] -= damaged
        if undamaged:
            left[(line.gtin, False)] -= undamaged
        out[line.id] = (line.qty - damaged - undamaged, undamaged, damaged)
    return out


def _move_stock(session: Session, order: Order, shipment: Shipment, refused: list[dict[str, Any]], actor: str) -> None:
    reasons: dict[tuple[str, bool], list[str]] = defaultdict(list)
    for r in refused:
        reasons[(r["gtin"], r["damaged"])].append(r["reason"])
    at = shipment.held_at

    def cause(reason: str, gtin: str | None = None, damaged: bool = False) -> stock.Cause:
        note = "; ".join(reasons[(gtin, damaged)])[:2000] if gtin else None
        return stock.Cause(StockCause.ORDER, actor=actor, order_id=order.id, shipment_id=shipment.id, reason=reason, note=note)

    split = _split(shipment, refused)
    for line in shipment.lines:
        delivered, undamaged, damaged = split[line.id]
        key = f"handover:{shipment.id}:{line.id}"
        if delivered:
            stock.consume_reserved(session, at, line.gtin, delivered, StockEventKind.COLLECTION, cause("collected"), idempotency_key=f"{key}:collected")
        if undamaged:
            stock.release(session, at, line.gtin, undamaged, cause("refused at pickup", line.gtin), idempotency_key=f"{key}:refused")
        if damaged:
            stock.move(session, at, line.gtin, StockEventKind.QUARANTINE, cause("refused damaged at pickup", line.gtin, True),
                       on_hand_delta=-damaged, reserved_delta=-damaged, quarantine_delta=damaged, idempotency_key=f"{key}:quarantined")


def _move_tags(session: Session, shipment: Shipment, refused: list[dict[str, Any]]) -> None:
    """The parcel's tags: refused ones back in the store (quarantined when damaged), the rest sold (keeping the
    shipment, so a later return finds the order). The tags scanned at the counter are the ones taken back; a count
    without tags takes the parcel's first tags of that product by EPC (docs/flows/click-and-collect.md)."""
    counts: dict[tuple[str, bool], int] = defaultdict(int)  # refused units whose tags were not named
    named: dict[tuple[str, bool], list[str]] = defaultdict(list)  # tags scanned at the counter
    for r in refused:
        if r.get("epcs") is not None:
            named[(r["gtin"], r["damaged"])] += r["epcs"]
        else:
            counts[(r["gtin"], r["damaged"])] += r["qty"]
    for gtin in dict.fromkeys(line.gtin for line in shipment.lines):
        taken = set(named[(gtin, True)]) | set(named[(gtin, False)])
        rest = [epc for epc in repository.tags_of(session, shipment.id, [TagState.PACKED], gtin) if epc not in taken]
        damaged, undamaged = counts[(gtin, True)], counts[(gtin, False)]
        quarantined = named[(gtin, True)] + rest[:damaged]
        back = named[(gtin, False)] + rest[damaged:damaged + undamaged]
        repository.set_tags(session, quarantined, state=TagState.QUARANTINED, shipment_id=None, location_id=shipment.held_at, zone=None)
        repository.set_tags(session, back, state=TagState.IN_STOCK, shipment_id=None, location_id=shipment.held_at)
        repository.set_tags(session, rest[damaged + undamaged:], state=TagState.SOLD, zone=None)

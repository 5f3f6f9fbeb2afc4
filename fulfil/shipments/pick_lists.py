"""Pick lists in walking order: the lines of one shipment, or of a batch picked together, sorted by where the products
sit in the store (aisle, bay, shelf, compared as people read them: A2 before A10), products without a place last.

A batch gives each shipment a slot, numbered in the order asked, with a colour to label the tote or bag; a line of
the batch is one product at one place with the units each slot still needs. A scan for a batch
(`scan_for_batch`) goes to the first slot that still needs that product, and the answer names the slot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.errors import Conflict, InvalidInput
from fulfil.models import Product, ScanOutcome, Shipment, ShipmentScan
from fulfil.shipments import scans, service
from rfid.scan_codes import parse

# Slot colours, in order: distinct on a phone screen and by name (the name is what a screen reader says).
SLOT_COLOURS = ("red", "blue", "green", "orange", "purple", "yellow", "black", "white")
MAX_BATCH = len(SLOT_COLOURS)


def place_key(aisle: str | None, bay: str | None, shelf: str | None) -> tuple[object, ...]:
    """Walking order of a place: natural order of aisle, then bay, then shelf; unknown places after every known one."""
    if aisle is None and bay is None and shelf is None:
        return (1,)
    return (0, *(_natural(part) for part in (aisle, bay, shelf)))


def _natural(text: str | None) -> tuple[tuple[int, object], ...]:
    if text is None:
        return ((2, ""),)
    return tuple((0, int(chunk)) if chunk.isdigit() else (1, chunk.casefold()) for chunk in re.findall(r"\d+|\D+", text))


@dataclass
class PickLine:
    """One product at one place, with what each slot needs of it (one slot for a single shipment)."""

    gtin: str
    name: str
    size: str | None
    colour: str | None
    aisle: str | None
    bay: str | None
    shelf: str | None
    qty: int = 0
    picked_qty: int = 0
    slots: dict[int, tuple[int, int]] = field(default_factory=dict)  # slot -> (qty, picked)


@dataclass(frozen=True)
class PickList:
    shipments: list[Shipment]
    lines: list[PickLine]


def pick_list(session: Session, shipment_ids: Sequence[int], principal: Principal) -> PickList:
    """The walking-order pick list of one shipment or a batch (1 to 8, one store, each once; 404 for one the caller
    may not see)."""
    ids = list(shipment_ids)
    if not ids or len(ids) > MAX_BATCH or len(set(ids)) != len(ids):
        raise InvalidInput(
            f"a pick list is for 1 to {MAX_BATCH} different shipments", details=[{"field": "shipment_id", "message": f"1 to {MAX_BATCH}, each once"}],
        )
    shipments = [service.get(session, sid, principal) for sid in ids]
    if len({s.location_id for s in shipments}) > 1:
        raise Conflict("a batch is picked in one store: these shipments are at different locations", code="mixed_locations")
    gtins = {line.gtin for s in shipments for line in s.lines}
    products = {p.gtin: p for p in session.scalars(select(Product).where(Product.gtin.in_(gtins)))}
    merged: dict[str, PickLine] = {}
    for slot, shipment in enumerate(shipments, start=1):
        for line in shipment.lines:
            product = products[line.gtin]
            entry = merged.setdefault(line.gtin, PickLine(
                line.gtin, product.name, product.size, product.colour, product.aisle, product.bay, product.shelf,
            ))
            qty, picked = entry.slots.get(slot, (0, 0))
            entry.slots[slot] = (qty + line.qty, picked + line.picked_qty)
            entry.qty += line.qty
            entry.picked_qty += line.picked_qty
    lines = sorted(merged.values(), key=lambda ln: (place_key(ln.aisle, ln.bay, ln.shelf), ln.name.casefold(), ln.gtin))
    return PickList(shipments, lines)


@dataclass(frozen=True)
class BatchScan:
    slot: int
    result: scans.ScanResult


def scan_for_batch(session: Session, shipment_ids: Sequence[int], scan_id: str, code: str, principal: Principal) -> BatchScan:
    """A scan while picking a batch: recorded on the first slot's shipment that still needs the product (or, when
    none does, on the first that carries it, or the first of the batch: refused there with the reason). A scan_id
    seen before in the batch gets its first answer again."""
    ids = list(shipment_ids)
    batch = pick_list(session, ids, principal)
    seen = session.scalar(select(ShipmentScan.shipment_id).where(ShipmentScan.shipment_id.in_(ids), ShipmentScan.scan_id == scan_id).limit(1))
    if seen is not None:  # one query for the whole batch: the slot that recorded this scan_id answers again
        return BatchScan(ids.index(seen) + 1, scans.scan(session, seen, scan_id, code, principal))
    parsed = parse(code)
    gtin = parsed.gtin
    target = 1
    counted = None
    if parsed.epc is not None:  # a tag counted in one slot is that slot's duplicate, never another slot's unit
        counted = session.scalar(select(ShipmentScan.shipment_id).where(
            ShipmentScan.shipment_id.in_(ids), ShipmentScan.epc == parsed.epc, ShipmentScan.outcome == ScanOutcome.ACCEPTED,
        ).limit(1))
    if counted is not None:
        target = ids.index(counted) + 1
    elif gtin is not None:
        carrying = [slot for slot, s in enumerate(batch.shipments, start=1) if any(ln.gtin == gtin for ln in s.lines)]
        needing = [slot for slot, s in enumerate(batch.shipments, start=1) if any(ln.gtin == gtin and ln.picked_qty < ln.qty for ln in s.lines)]
        target = (needing or carrying or [1])[0]
    return BatchScan(target, scans.scan(session, batch.shipments[target - 1].id, scan_id, code, principal))

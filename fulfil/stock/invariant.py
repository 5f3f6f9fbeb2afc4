"""The stock invariant: every reserved unit is held by an open shipment or task, and the event log explains every row.

For every (location, GTIN):
- `reserved` equals the units of the shipments held there (Shipment.held_at) whose status holds a reservation
  (fulfil.shipments.states.HOLDS_RESERVATION), plus the units of open put-back tasks there, plus the units of
  active checkout holds there (fulfil.holds);
- the sums of the stock events' deltas equal `on_hand`, `reserved`, `safety` and `quarantined`;
- a (location, GTIN) with events has a row, and no row or shipment claims units of a pair without one.

`check()` returns every drift found (empty when the books are right). It runs after every database test of the
suite and as `fulfil stock check` for ops.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from fulfil.models import HoldStatus, Shipment, StockHold, StockHoldLine, ShipmentLine, StockEvent, StockLevel, StoreTask, TaskKind, TaskStatus
from fulfil.shipments.states import HOLDS_RESERVATION

Key = tuple[str, str]


@dataclass(frozen=True)
class Drift:
    """One quantity of one (location, GTIN) that disagrees with what should explain it."""

    location_id: str
    gtin: str
    quantity: str  # on_hand | reserved | safety | quarantined
    recorded: int  # what stock_levels says
    expected: int  # what the shipments and tasks (reserved) or the event log (every quantity) say
    source: str  # "shipments" (with put-back tasks and holds) or "events"

    def describe(self) -> str:
        """One line for people: where, what, and by how much."""
        return (
            f"{self.location_id} {self.gtin}: {self.quantity} is {self.recorded} but the {self.source} say {self.expected} "
            f"({self.recorded - self.expected:+d})"
        )


def check(bind: Session | Connection) -> list[Drift]:
    """Every drift between stock levels, the open shipments' reservations and the event log (none: the books are right)."""
    levels: dict[Key, tuple[int, int, int, int]] = {
        (row.location_id, row.gtin): (row.on_hand, row.reserved, row.safety, row.quarantined)
        for row in bind.execute(
            select(StockLevel.location_id, StockLevel.gtin, StockLevel.on_hand, StockLevel.reserved, StockLevel.safety, StockLevel.quarantined)
        )
    }
    held: dict[Key, int] = defaultdict(int)
    holding = (
        select(Shipment.held_at, ShipmentLine.gtin, func.sum(ShipmentLine.qty))
        .join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id)
        .where(Shipment.status.in_([s.value for s in HOLDS_RESERVATION]))
        .group_by(Shipment.held_at, ShipmentLine.gtin)
    )
    for location_id, gtin, units in bind.execute(holding):
        held[(location_id, gtin)] += int(units)
    put_back = (
        select(StoreTask.location_id, StoreTask.gtin, func.sum(StoreTask.qty))
        .where(StoreTask.kind == TaskKind.PUT_BACK.value, StoreTask.status == TaskStatus.OPEN.value)
        .group_by(StoreTask.location_id, StoreTask.gtin)
    )
    for task_location, task_gtin, task_units in bind.execute(put_back):
        held[(task_location, str(task_gtin))] += int(task_units or 0)  # a put back always names its product and units
    holds = (
        select(StockHoldLine.location_id, StockHoldLine.gtin, func.sum(StockHoldLine.qty))
        .join(StockHold, StockHold.id == StockHoldLine.hold_id)
        .where(StockHold.status == HoldStatus.ACTIVE.value)
        .group_by(StockHoldLine.location_id, StockHoldLine.gtin)
    )
    for hold_location, hold_gtin, hold_units in bind.execute(holds):
        held[(hold_location, hold_gtin)] += int(hold_units)
    logged: dict[Key, tuple[int, int, int, int]] = {
        (row[0], row[1]): (int(row[2]), int(row[3]), int(row[4]), int(row[5]))
        for row in bind.execute(
            select(
                StockEvent.location_id, StockEvent.gtin,
                func.sum(StockEvent.on_hand_delta), func.sum(StockEvent.reserved_delta), func.sum(StockEvent.safety_delta),
                func.sum(StockEvent.quarantine_delta),
            ).group_by(StockEvent.location_id, StockEvent.gtin)
        )
    }
    drifts: list[Drift] = []
    for key in sorted(set(levels) | set(held) | set(logged)):
        on_hand, reserved, safety, quarantined = levels.get(key, (0, 0, 0, 0))
        if reserved != held.get(key, 0):
            drifts.append(Drift(key[0], key[1], "reserved", reserved, held.get(key, 0), "shipments"))
        names = ("on_hand", "reserved", "safety", "quarantined")
        for name, recorded, expected in zip(names, (on_hand, reserved, safety, quarantined), logged.get(key, (0, 0, 0, 0))):
            if recorded != expected:
                drifts.append(Drift(key[0], key[1], name, recorded, expected, "events"))
    return drifts

"""The shipment status machine: assigned -> picking -> picked -> packed -> verified -> shipped, or rejected
(a location refused it), or superseded (re-routed before work started)."""

from __future__ import annotations

from fulfil.errors import InvalidTransition
from fulfil.models import Shipment, ShipmentStatus
from fulfil.models.base import utcnow

S = ShipmentStatus

# Where each status may go next. A store may reject work it has not handed over yet (short pick,
# damage); once a parcel is verified it is on its way and can only ship.
TRANSITIONS: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    S.ASSIGNED: frozenset({S.PICKING, S.REJECTED, S.SUPERSEDED}),
    S.PICKING: frozenset({S.PICKED, S.REJECTED}),
    S.PICKED: frozenset({S.PACKED, S.PICKING, S.REJECTED}),
    S.PACKED: frozenset({S.VERIFIED, S.PICKING, S.REJECTED}),
    S.VERIFIED: frozenset({S.SHIPPED}),
    S.SHIPPED: frozenset(),
    S.REJECTED: frozenset(),
    S.SUPERSEDED: frozenset(),
}

# Statuses in which the work has not started, so a batch re-optimisation may still move it.
MOVABLE: frozenset[ShipmentStatus] = frozenset({S.ASSIGNED})
# Statuses that hold reserved stock at the location.
HOLDS_RESERVATION: frozenset[ShipmentStatus] = frozenset({S.ASSIGNED, S.PICKING, S.PICKED, S.PACKED, S.VERIFIED})


def can_move(current: ShipmentStatus, to: ShipmentStatus) -> bool:
    """Whether the machine allows current -> to."""
    return to in TRANSITIONS[current]


def advance(shipment: Shipment, to: ShipmentStatus, *, reason: str | None = None) -> None:
    """Move a shipment to `to`, or raise InvalidTransition naming the allowed next statuses."""
    if not can_move(shipment.status, to):
        allowed = sorted(s.value for s in TRANSITIONS[shipment.status])
        raise InvalidTransition(
            f"shipment {shipment.id} cannot go from {shipment.status.value} to {to.value}",
            details={"shipment_id": shipment.id, "status": shipment.status.value, "requested": to.value, "allowed": allowed},
        )
    if to is S.REJECTED:
        if not reason:
            raise InvalidTransition("a rejection needs a reason", details={"shipment_id": shipment.id})
        shipment.rejection_reason = reason
    shipment.status = to
    shipment.status_changed_at = utcnow()

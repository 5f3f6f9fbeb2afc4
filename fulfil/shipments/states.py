"""The shipment status machine.

Home delivery: assigned -> picking -> picked -> packed -> verified -> shipped.
Click and collect at the serving store: ... -> verified -> ready_for_pickup -> collected (or expired).
Ship-to-store: ... -> verified -> in_transit -> received (at the pickup store) -> ready_for_pickup -> collected.
Off the path: rejected (the location refused it), superseded (re-routed before work started), cancelled (the
order or these units were cancelled before the parcel left; started work becomes a put-back task)."""

from __future__ import annotations

from fulfil.errors import InvalidTransition
from fulfil.journal import service as journal
from fulfil.models import Shipment, ShipmentStatus
from fulfil.models.base import utcnow

S = ShipmentStatus

# Where each status may go next. A store may reject work it has not handed over yet (short pick,
# damage); once a parcel is verified it is on its way: it ships, goes to the pickup store or waits there.
TRANSITIONS: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    S.ASSIGNED: frozenset({S.PICKING, S.REJECTED, S.SUPERSEDED, S.CANCELLED}),
    S.PICKING: frozenset({S.PICKED, S.REJECTED, S.CANCELLED}),
    S.PICKED: frozenset({S.PACKED, S.PICKING, S.REJECTED, S.CANCELLED}),
    S.PACKED: frozenset({S.VERIFIED, S.PICKING, S.PICKED, S.REJECTED, S.CANCELLED}),
    S.VERIFIED: frozenset({S.SHIPPED, S.IN_TRANSIT, S.READY_FOR_PICKUP, S.PICKED, S.CANCELLED}),
    S.IN_TRANSIT: frozenset({S.RECEIVED}),
    S.RECEIVED: frozenset({S.READY_FOR_PICKUP, S.CANCELLED}),
    S.READY_FOR_PICKUP: frozenset({S.COLLECTED, S.EXPIRED, S.CANCELLED}),
    S.SHIPPED: frozenset(),
    S.COLLECTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.SUPERSEDED: frozenset(),
}

# Statuses in which the work has not started, so a batch re-optimisation may still move it.
MOVABLE: frozenset[ShipmentStatus] = frozenset({S.ASSIGNED})
# Statuses in which the shipment's units are reserved in the stock of the location it is held at (Shipment.held_at).
HOLDS_RESERVATION: frozenset[ShipmentStatus] = frozenset(
    {S.ASSIGNED, S.PICKING, S.PICKED, S.PACKED, S.VERIFIED, S.RECEIVED, S.READY_FOR_PICKUP}
)
# Work at the serving location has started and the parcel has not left it.
STARTED: frozenset[ShipmentStatus] = frozenset({S.PICKING, S.PICKED, S.PACKED, S.VERIFIED})
# The parcel left the serving location (consumed there): it can be returned, not cancelled.
LEFT: frozenset[ShipmentStatus] = frozenset({S.SHIPPED, S.IN_TRANSIT, S.COLLECTED})
# At the pickup store, waiting for the customer.
AT_PICKUP: frozenset[ShipmentStatus] = frozenset({S.RECEIVED, S.READY_FOR_PICKUP})
# Over: nothing more happens to it.
ENDED: frozenset[ShipmentStatus] = frozenset({S.SHIPPED, S.COLLECTED, S.EXPIRED, S.CANCELLED, S.REJECTED, S.SUPERSEDED})
# No longer part of the order's fulfilment (the order's units it carried are to be fulfilled by others, or not at all).
DROPPED: frozenset[ShipmentStatus] = frozenset({S.REJECTED, S.SUPERSEDED, S.CANCELLED, S.EXPIRED})


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
    previous = shipment.status
    shipment.status = to
    shipment.status_changed_at = utcnow()
    journal.shipment_entered(shipment, previous, reason)

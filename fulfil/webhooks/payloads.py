"""What each webhook says: the `data` of an event, built from the journal event that causes it and from the session
(rows already loaded there are used as they stand in memory, so the payload describes the change being committed).

Every payload names its order (`order`: id, external_id, status, channel, customer_ref) and what its type is about:
the shipment and its SSCC, the pickup store, code and hold period, the cancel reason, the refund due, the units left
unfilled. The pickup code travels only in shipment.ready_for_pickup and pickup.reminder, the customer's copies of the
journal (webhooks are registered by ops; no store token reads them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.models import Order, OrderLine, Parcel, ParcelStatus, Shipment, ShipmentLine, ShipmentStatus

S = ShipmentStatus
Builder = Callable[[Session, int | None, int | None, dict[str, Any]], dict[str, Any]]


def timestamp(at: datetime) -> str:
    """An instant as payloads write it: ISO 8601 in UTC with a Z."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _instant(value: Any) -> str | None:
    """An instant from the journal's data (ISO text) or a row, as payloads write it."""
    if value is None:
        return None
    return timestamp(datetime.fromisoformat(value) if isinstance(value, str) else value)


def _order(session: Session, order_id: int | None) -> tuple[Order | None, dict[str, Any]]:
    """The order (as it stands in the session) and its summary."""
    order = session.get(Order, order_id) if order_id is not None else None
    if order is None:
        return None, {"id": order_id}
    summary = {
        "id": order.id, "external_id": order.external_id, "status": order.status.value, "channel": order.channel.value,
        "customer_ref": order.customer_ref,
    }
    if order.pickup_location_id is not None:
        summary["pickup_location_id"] = order.pickup_location_id
    return order, summary


def _live_shipments(session: Session, order_id: int) -> list[Shipment]:
    """The order's shipments that still count (fulfil.shipments.states.DROPPED excluded), by id."""
    from fulfil.shipments.states import DROPPED  # the states module records journal events: imported late, no cycle

    rows = session.scalars(select(Shipment).where(Shipment.order_id == order_id).order_by(Shipment.id)).all()
    return [s for s in rows if s.status not in DROPPED]


def _lines_of(session: Session, shipment_ids: list[int]) -> dict[int, list[ShipmentLine]]:
    out: dict[int, list[ShipmentLine]] = {sid: [] for sid in shipment_ids}
    if shipment_ids:
        for line in session.scalars(select(ShipmentLine).where(ShipmentLine.shipment_id.in_(shipment_ids)).order_by(ShipmentLine.id)):
            out[line.shipment_id].append(line)
    return out


def _units(lines: list[ShipmentLine]) -> list[dict[str, Any]]:
    merged: dict[str, int] = {}
    for line in lines:
        merged[line.gtin] = merged.get(line.gtin, 0) + line.qty
    return [{"gtin": gtin, "qty": qty} for gtin, qty in merged.items()]


def _shipments(session: Session, shipments: list[Shipment]) -> list[dict[str, Any]]:
    lines = _lines_of(session, [s.id for s in shipments])
    return [
        {"id": s.id, "location_id": s.location_id, "status": s.status.value, "lines": _units(lines[s.id])}
        for s in shipments
    ]


def routed(session: Session, order_id: int | None, _shipment_id: int | None, data: dict[str, Any]) -> dict[str, Any]:
    """order.routed: every unit has a shipment; where each is served from."""
    _, order = _order(session, order_id)
    shipments = _shipments(session, _live_shipments(session, order_id)) if order_id is not None else []
    return {"order": order, "previous_status": data.get("previous"), "shipments": shipments}


def partially_unfillable(session: Session, order_id: int | None, _shipment_id: int | None, data: dict[str, Any]) -> dict[str, Any]:
    """order.partially_unfillable: some units (status partially_routed) or all of them (status unfillable) found no
    location with stock; `unfilled` says which, `shipments` where the rest is served from."""
    row, order = _order(session, order_id)
    if row is None or order_id is None:
        return {"order": order, "previous_status": data.get("previous"), "unfilled": [], "shipments": []}
    live = _live_shipments(session, order_id)
    lines = _lines_of(session, [s.id for s in live])
    wanted: dict[str, int] = {}
    for line in session.scalars(select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.line_no)):
        wanted[line.gtin] = wanted.get(line.gtin, 0) + line.qty - line.cancelled_qty
    for shipment_lines in lines.values():
        for sl in shipment_lines:
            wanted[sl.gtin] = wanted.get(sl.gtin, 0) - sl.qty
    unfilled = [{"gtin": gtin, "qty": qty} for gtin, qty in wanted.items() if qty > 0]
    return {"order": order, "previous_status": data.get("previous"), "unfilled": unfilled, "shipments": _shipments(session, live)}


def shipped(session: Session, order_id: int | None, shipment_id: int | None, data: dict[str, Any]) -> dict[str, Any]:
    """shipment.shipped: the parcel left for the customer; its SSCC (the verified parcel: one opened again and
    replaced stays behind) and carrier reference."""
    _, order = _order(session, order_id)
    shipment = session.get(Shipment, shipment_id) if shipment_id is not None else None
    parcels = []
    if shipment is not None:
        rows = session.scalars(select(Parcel).where(Parcel.shipment_id == shipment.id).order_by(Parcel.id)).all()
        parcels = [{"sscc": p.sscc, "carrier_ref": p.carrier_ref} for p in rows if p.status in (ParcelStatus.VERIFIED, ParcelStatus.SHIPPED)]
    body: dict[str, Any] = {"order": order}
    if shipment is not None:
        body["shipment"] = _shipments(session, [shipment])[0]
    body["sscc"] = parcels[0]["sscc"] if parcels else None
    body["parcels"] = parcels
    return body


def _pickup(session: Session, order_id: int | None, shipment_id: int | None, data: dict[str, Any]) -> dict[str, Any]:
    """A pickup notice as the customer's copy of the journal has it: the store (name, address, opening hours), the
    code and QR payload, the lines and the hold period."""
    _, order = _order(session, order_id)
    body: dict[str, Any] = {"order": order, "shipment": {"id": shipment_id, "lines": data.get("lines", [])}}
    for key in ("store", "pickup_code", "pickup_code_display", "qr_payload", "order_ready"):
        if key in data:
            body[key] = data[key]
    body["ready_at"], body["expires_at"] = _instant(data.get("ready_at")), _instant(data.get("expires_at"))
    return body


def ready_for_pickup(session: Session, order_id: int | None, shipment_id: int | None, data: dict[str, Any]) -> dict[str, Any]:
    """shipment.ready_for_pickup: staged at the pickup store; the customer's message with the pickup code."""
    return _pickup(session, order_id, shipment_id, data)


def reminder(session: Session, order_id: int | None, shipment_id: int | None, data: dict[str, Any]) -> dict[str, Any]:
    """pickup.reminder: the hold period ends soon (expires_at); the code again."""
    return _pickup(session, order_id, shipment_id, data)


def expired(session: Session, order_id: int | None, shipment_id: int | None, data: dict[str, Any]) -> dict[str, Any]:
    """pickup.expired: not collected in time; its units went back to the store's stock (order.cancelled follows for
    what is left of the order, reason not_collected)."""
    _, order = _order(session, order_id)
    shipment = session.get(Shipment, shipment_id) if shipment_id is not None else None
    return {
        "order": order, "shipment": {"id": shipment_id, "lines": data.get("lines", [])},
        "store_id": shipment.pickup_location_id if shipment is not None else None,
        "expires_at": _instant(data.get("expires_at")), "reason": data.get("reason"),
    }


def collected(session: Session, order_id: int | None, _shipment_id: int | None, data: dict[str, Any]) -> dict[str, Any]:
    """order.collected: every part was handed to the customer."""
    _, order = _order(session, order_id)
    return {"order": order, "previous_status": data.get("previous")}


def cancelled(session: Session, order_id: int | None, _shipment_id: int | None, data: dict[str, Any]) -> dict[str, Any]:
    """order.cancelled: nothing of the order will be fulfilled, and why (`reason`)."""
    row, order = _order(session, order_id)
    reason = data.get("reason") or (row.cancel_reason if row is not None else None)
    cancelled_at = _instant(row.cancelled_at) if row is not None else None
    return {"order": order, "previous_status": data.get("previous"), "reason": reason, "cancelled_at": cancelled_at}


def return_received(session: Session, order_id: int | None, _shipment_id: int | None, data: dict[str, Any]) -> dict[str, Any]:
    """return.received: items came back (graded) and the refund due (null when a line had no price)."""
    _, order = _order(session, order_id)
    return {
        "order": order,
        "return": {
            "id": data.get("return_id"), "external_id": data.get("external_id"), "currency": data.get("currency"),
            "refund_due": data.get("refund_due"), "items": data.get("items", []),
        },
    }


@dataclass(frozen=True)
class Mapping:
    """A journal kind that is a webhook: its type, its builder, and whether only the customer's copy counts (a kind
    recorded once for the store and once, without a location, for the customer)."""

    type: str
    build: Builder
    customer_copy: bool = False


# Journal kind -> webhook. order.partially_routed and order.unfillable are one type, order.partially_unfillable:
# both mean units found no stock, and `order.status` (partially_routed | unfillable) with `unfilled` says how many.
JOURNAL: dict[str, Mapping] = {
    "order.routed": Mapping("order.routed", routed),
    "order.partially_routed": Mapping("order.partially_unfillable", partially_unfillable),
    "order.unfillable": Mapping("order.partially_unfillable", partially_unfillable),
    "shipment.shipped": Mapping("shipment.shipped", shipped),
    "pickup.ready": Mapping("shipment.ready_for_pickup", ready_for_pickup, customer_copy=True),
    "pickup.reminder": Mapping("pickup.reminder", reminder, customer_copy=True),
    "pickup.expired": Mapping("pickup.expired", expired, customer_copy=True),
    "order.collected": Mapping("order.collected", collected),
    "order.cancelled": Mapping("order.cancelled", cancelled),
    "return.received": Mapping("return.received", return_received, customer_copy=True),
}

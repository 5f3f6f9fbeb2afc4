"""Steps of an order's life through the HTTP API, shared by the cancellation and short-pick tests."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.models import DomainEvent
from fulfil.shipments import verification
from rfid.epc import encode_sgtin96

STATION = "pack-station-1"
NEAR_STORE = {"lat": 45.01, "lon": 4.0}  # a customer beside the test stores at (45.0, 4.0)


def place(client: TestClient, headers: dict[str, str], lines: dict[str, int], *, store: str | None = None,
          ship_to: dict[str, float] | None = None) -> dict[str, Any]:
    """Take in an order (a store order of `store` collected there, or a web order to `ship_to`), routed at once."""
    body: dict[str, Any] = {"external_id": f"T-{uuid.uuid4().hex[:10]}", "lines": [{"gtin": g, "qty": q} for g, q in lines.items()]}
    if store is not None:
        body |= {"channel": "store", "origin_location_id": store, "pickup_location_id": store}
    else:
        body |= {"channel": "web", "ship_to": ship_to or NEAR_STORE}
    response = client.post("/api/v1/orders", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def shipment_at(order: dict[str, Any], location: str) -> dict[str, Any]:
    """The order's (one) live shipment at a location."""
    found = [s for s in order["shipments"] if s["location_id"] == location and s["status"] not in ("superseded", "rejected", "cancelled")]
    assert len(found) == 1, order["shipments"]
    return found[0]


def order(client: TestClient, headers: dict[str, str], order_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/orders/{order_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def act(client: TestClient, headers: dict[str, str], shipment_id: int, action: str, **body: Any) -> dict[str, Any]:
    """start, picked, pack (station given), ship: the store's work on a shipment, which must succeed."""
    response = client.post(f"/api/v1/shipments/{shipment_id}/{action}", headers=headers, json=body or None)
    assert response.status_code == 200, response.text
    return response.json()


def pack_and_verify(client: TestClient, headers: dict[str, str], session: Session, location: str, shipment_id: int,
                    units: dict[str, int], epcs: dict[str, list[str]] | None = None) -> None:
    """Pack a picked shipment at the station and let its antenna see every unit (the tags given, or made up) and the
    parcel's own tag, as the RFID ingest does: the parcel is verified."""
    packed = act(client, headers, shipment_id, "pack", station=STATION)
    seen = [packed["sscc_epc"]]
    for gtin, qty in units.items():
        seen += (epcs or {}).get(gtin) or [encode_sgtin96(gtin, 1000 + i, 7) for i in range(qty)]
    verdict = verification.verify_station(session, location, STATION, seen)
    assert verdict is not None and verdict.complete, verdict and verdict.verdict
    session.commit()


def level(client: TestClient, headers: dict[str, str], location: str, gtin: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/stock/{location}/{gtin}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def stock_events(client: TestClient, headers: dict[str, str], order_id: int) -> list[dict[str, Any]]:
    return client.get(f"/api/v1/stock/events?order_id={order_id}&limit=5000", headers=headers).json()


def tasks(client: TestClient, headers: dict[str, str], location: str, kind: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/stores/{location}/tasks?kind={kind}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def journal(session: Session, order_id: int, kind: str | None = None) -> list[DomainEvent]:
    """The business events of an order (what the live streams and the customer's notices are made from)."""
    stmt = select(DomainEvent).where(DomainEvent.order_id == order_id).order_by(DomainEvent.id)
    if kind is not None:
        stmt = stmt.where(DomainEvent.kind == kind)
    session.expire_all()
    return list(session.scalars(stmt))

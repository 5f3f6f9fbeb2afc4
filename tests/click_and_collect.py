"""Helpers of the click-and-collect tests: place a pickup order, take a shipment through picking and an RFID-verified
pack to a verified parcel (the pack station's verdict made directly by fulfil.shipments.verification)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.models import DomainEvent, RfidTag, StockEvent, TagState
from fulfil.shipments.verification import verify_station
from rfid.epc import encode_sgtin96
from tests.factories import next_number

STATION = "pack-station-1"


def place(client: TestClient, headers: dict[str, str], pickup: str, lines: dict[str, int], external_id: str | None = None) -> dict[str, Any]:
    """A click-and-collect order at `pickup`, routed at intake."""
    body = {"external_id": external_id or f"CC-{next_number()}", "channel": "web", "pickup_location_id": pickup,
            "lines": [{"gtin": g, "qty": q} for g, q in lines.items()]}
    response = client.post("/api/v1/orders", headers=headers, json=body)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def tag(session: Session, location: str, gtin: str, n: int) -> list[str]:
    """Register `n` tagged units of a product in stock at a location (tags only: stock comes from stock_of)."""
    epcs = [encode_sgtin96(gtin, next_number(), 7) for _ in range(n)]
    for epc in epcs:
        session.add(RfidTag(epc=epc, gtin=gtin, location_id=location, state=TagState.IN_STOCK))
    session.commit()
    return epcs


def verified(client: TestClient, headers: dict[str, str], session: Session, shipment: dict[str, Any], epcs: list[str] | None = None) -> dict[str, Any]:
    """Start, pick and pack a shipment; the pack station sees its items (the given EPCs, or fresh ones) and its SSCC
    tag: the parcel is verified. Returns the pack answer (sscc, sscc_epc)."""
    sid = shipment["id"]
    for step in ("start", "picked"):
        answer = client.post(f"/api/v1/shipments/{sid}/{step}", headers=headers)
        assert answer.status_code == 200, answer.text
    packed = client.post(f"/api/v1/shipments/{sid}/pack", headers=headers, json={"station": STATION})
    assert packed.status_code == 200, packed.text
    if epcs is None:
        epcs = [encode_sgtin96(line["gtin"], next_number(), 7) for line in shipment["lines"] for _ in range(line["qty"])]
    row = verify_station(session, shipment["location_id"], STATION, [*epcs, packed.json()["sscc_epc"]])
    assert row is not None and row.complete, row.verdict if row else None
    session.commit()
    result: dict[str, Any] = packed.json()
    return result


def level(client: TestClient, headers: dict[str, str], location: str, gtin: str) -> tuple[int, int, int, int]:
    """(on_hand, reserved, available, quarantined) of a product at a location, through the API."""
    body = client.get(f"/api/v1/stock/{location}/{gtin}", headers=headers).json()
    return body["on_hand"], body["reserved"], body["available"], body["quarantined"]


def events(session: Session, order_id: int, kind: str | None = None) -> list[DomainEvent]:
    """The business events of an order (of one kind), oldest first."""
    stmt = select(DomainEvent).where(DomainEvent.order_id == order_id)
    if kind is not None:
        stmt = stmt.where(DomainEvent.kind == kind)
    return list(session.scalars(stmt.order_by(DomainEvent.id)))


def stock_events(session: Session, shipment_id: int) -> list[StockEvent]:
    """The stock events of a shipment, oldest first."""
    return list(session.scalars(select(StockEvent).where(StockEvent.shipment_id == shipment_id).order_by(StockEvent.id)))


def tag_states(session: Session, epcs: list[str]) -> dict[str, tuple[TagState, str | None, int | None]]:
    """EPC -> (state, location, shipment) as stored now."""
    session.expire_all()
    rows = session.scalars(select(RfidTag).where(RfidTag.epc.in_(epcs)))
    return {t.epc: (t.state, t.location_id, t.shipment_id) for t in rows}

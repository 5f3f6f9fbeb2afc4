"""The store app's pickup counter: what waits for customers (curbside arrivals first, with their bay), found by the
pickup code the customer shows (typed, or its QR code scanned), by order number or by the customer's reference; and
the handover, with what the customer refuses going back to stock (or quarantine, when damaged).

The store never sees a pickup code (fulfil.pickups): the one the customer shows is checked when the parcel is
handed over, as the API does (POST /api/v1/shipments/{id}/handover).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.errors import Forbidden, InvalidInput
from fulfil.models import Handover, Location, Order, Product, Shipment, ShipmentStatus
from fulfil.pages import i18n
from fulfil.pages.store import lang_of, page
from fulfil.pages.work import as_picker, form_action, units, who
from fulfil.pickups import arrival, codes, handover, repository
from fulfil.pickups import service as pickups
from fulfil.pickups.schemas import HandoverRequest, RefusedLine
from fulfil.shipments import service as shipments
from rfid.scan_codes import parse

router = APIRouter(prefix="/store", include_in_schema=False)

QR = re.compile(rf"{codes.QR_PREFIX}:(\d+):([A-Za-z0-9]+)", re.IGNORECASE)
REFUSAL_REASONS = ("wrong_size", "changed_mind", "damaged", "other")


def _rows(request: Request, session: Session, principal: Principal) -> list[dict[str, Any]]:
    store = session.get(Location, principal.location_id)
    zone = store.timezone if store else "UTC"
    lang = lang_of(request)
    rows = []
    for shipment, order in pickups.waiting(session, principal, None, None, 200, 0):
        rows.append({
            "shipment": shipment, "order": order, "status": shipment.status.value, "units": sum(ln.qty for ln in shipment.lines),
            "curbside": order.checked_in_at is not None, "bay": (order.checkin or {}).get("bay"), "car": (order.checkin or {}).get("car"),
            "expires": i18n.when(shipment.expires_at, lang, zone)[1] if shipment.expires_at else "",
        })
    # Customers at the curb first, then what is ready, then what is still on its way; oldest first in each.
    order_of = {"ready_for_pickup": 1, "received": 2, "in_transit": 3}
    return sorted(rows, key=lambda r: (not r["curbside"], order_of.get(r["status"], 9), r["shipment"].status_changed_at))


def _list(request: Request, session: Session, principal: Principal, query: str = "", matches: list[dict[str, Any]] | None = None,
          received: Shipment | None = None) -> Response:
    store = session.get(Location, principal.location_id)
    rows = _rows(request, session, principal) if matches is None else matches
    return page(request, "pickups.html", store=store, who=who(session, principal), rows=rows, query=query, searched=matches is not None,
                received=received)


@router.get("/pickups", response_class=HTMLResponse)
def pickups_page(request: Request) -> Response:
    """What waits at the store for its customers."""
    return as_picker(request, lambda session, principal: _list(request, session, principal))


@router.post("/pickups", response_class=HTMLResponse)
async def find_pickup(request: Request) -> Response:
    """Find a pickup: the customer's code (typed or its QR code scanned) opens the handover at once; an order number,
    the web shop's order id or the customer's reference narrows the list. A parcel's label (its SSCC) scanned here
    receives a ship-to-store parcel that arrived."""

    def work(session: Session, principal: Principal, form: dict[str, str]) -> Response:
        query = form.get("q", "").strip()[:64]
        scanned = parse(query)
        if scanned.kind == "sscc" and scanned.sscc is not None:
            return _list(request, session, principal, received=arrival.receive_sscc(session, scanned.sscc, principal))
        qr = QR.fullmatch(query)
        typed = qr.group(2) if qr else query
        if re.fullmatch(codes.CODE_INPUT_PATTERN, typed):
            order = repository.order_by_code(session, codes.normalise(typed))
            if order is not None and order.pickup_location_id == principal.location_id and (qr is None or int(qr.group(1)) == order.id):
                ready = [s for s in _order_shipments(session, order) if s.status is ShipmentStatus.READY_FOR_PICKUP]
                if ready:
                    return _handover(request, session, principal, ready[0].id, code=typed)
        folded = query.casefold()
        rows = [r for r in _rows(request, session, principal)
                if folded and (folded == str(r["order"].id) or folded in r["order"].external_id.casefold()
                               or folded in (r["order"].customer_ref or "").casefold())]
        return _list(request, session, principal, query, rows)

    return await form_action(request, work)


def _order_shipments(session: Session, order: Order) -> list[Shipment]:
    return list(session.scalars(select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id)))


def _handover(request: Request, session: Session, principal: Principal, shipment_id: int, *, code: str | None = None,
              status: int = 200, problem: str | None = None, done: handover.Handed | None = None) -> Response:
    shipment = shipments.get(session, shipment_id, principal)
    if shipment.pickup_location_id != principal.location_id:
        raise InvalidInput(f"shipment {shipment.id} is not collected at this store", details=[{"field": "shipment", "message": "not a pickup here"}])
    order = session.get(Order, shipment.order_id)
    names = {p.gtin: p for p in session.scalars(select(Product).where(Product.gtin.in_([ln.gtin for ln in shipment.lines])))}
    lines = [{"gtin": ln.gtin, "qty": ln.qty, "product": names.get(ln.gtin)} for ln in shipment.lines]
    store = session.get(Location, principal.location_id)
    if done is None and shipment.status is ShipmentStatus.COLLECTED and order is not None:
        recorded = session.scalars(select(Handover).where(Handover.shipment_id == shipment.id)).first()
        done = handover.Handed(order, shipment, recorded) if recorded is not None else None
    return page(request, "handover.html", status, store=store, who=who(session, principal), shipment=shipment, order=order, lines=lines,
                code=code, problem=problem, done=done, names={g: p.name for g, p in names.items()},
                curbside=order.checked_in_at is not None if order else False, checkin=(order.checkin or {}) if order else {})


@router.post("/pickups/{shipment_id}/ready", response_class=HTMLResponse)
async def make_ready(request: Request, shipment_id: int) -> Response:
    """A received parcel is staged in the pickup area: ready, and the customer is told."""

    def work(session: Session, principal: Principal, form: dict[str, str]) -> Response:
        pickups.ready(session, shipment_id, principal)
        return RedirectResponse("/store/pickups", status_code=303)

    return await form_action(request, work)


@router.get("/pickups/{shipment_id}", response_class=HTMLResponse)
def handover_page(request: Request, shipment_id: int) -> Response:
    """Hand a parcel over: the customer's code, and what they refuse at the counter."""
    return as_picker(request, lambda session, principal: _handover(request, session, principal, shipment_id))


@router.post("/pickups/{shipment_id}", response_class=HTMLResponse)
async def hand_over(request: Request, shipment_id: int) -> Response:
    """The customer takes the parcel (less what they refuse), on showing their code."""

    def work(session: Session, principal: Principal, form: dict[str, str]) -> Response:
        shipment = shipments.get(session, shipment_id, principal)
        refused = []
        for index, line in enumerate(shipment.lines):
            qty = units(form.get(f"refused-{index}", "0"))
            if qty:
                reason = form.get(f"reason-{index}", "other")
                reason = reason if reason in REFUSAL_REASONS else "other"
                refused.append(RefusedLine(gtin=line.gtin, qty=min(qty, line.qty), damaged=reason == "damaged", reason=reason))
        code = form.get("code", "").strip()[:32]
        if not code or not re.fullmatch(codes.CODE_INPUT_PATTERN, code):
            return _handover(request, session, principal, shipment_id, status=422, problem="code")
        try:
            done = handover.hand_over(session, shipment_id, HandoverRequest(pickup_code=code, refused=refused), principal)
        except Forbidden as exc:
            if exc.code != "wrong_pickup_code":
                raise
            session.rollback()
            return _handover(request, session, principal, shipment_id, status=403, problem="wrong_code")
        del done  # recorded: the page after the redirect reads it back (a reload shows it again, and sends nothing)
        return RedirectResponse(f"/store/pickups/{shipment_id}", status_code=303)

    return await form_action(request, work)

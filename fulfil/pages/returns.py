"""The store app's returns desk: a customer brings items back to any store. Find the order (its number, the pickup
code, or a returned item's tag scanned), scan the tagged items and count the untagged ones, grade each product
(resellable: on sale here at once; damaged: quarantine) and say why; the desk shows the refund due.

The return is taken in by the same service as `POST /api/v1/returns` (never more than was delivered, each tag once,
a tag never sold refused and flagged), once per desk form: a resubmitted form (a double tap, a retry) answers the
first return.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Annotated, Any

from babel.numbers import format_currency
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from fulfil.auth.service import Principal
from fulfil.api_types import MAX_ID
from fulfil.models import Location, Order, Product, Return, ReturnGrade, RfidTag
from fulfil.pages.store import lang_of, page
from fulfil.pages.work import as_picker, form_action, units, who
from fulfil.pickups import codes
from fulfil.returns import repository
from fulfil.returns import service as returns
from fulfil.returns.items import ReturnRefused
from fulfil.returns.schemas import ReturnCreate, ReturnEpcItem, ReturnGtinItem, ReturnReason
from rfid.scan_codes import parse

router = APIRouter(prefix="/store", include_in_schema=False)

MAX_TAGS = 50
REF = re.compile(r"[0-9a-f]{32}")


def _desk_home(request: Request, session: Session, principal: Principal, query: str = "", problem: str | None = None, status: int = 200) -> Response:
    store = session.get(Location, principal.location_id)
    return page(request, "returns.html", status, store=store, who=who(session, principal), order=None, query=query, problem=problem)


@router.get("/returns", response_class=HTMLResponse)
def returns_page(request: Request) -> Response:
    """The returns desk: find the order the items came from."""
    return as_picker(request, lambda session, principal: _desk_home(request, session, principal))


def _order_for(session: Session, query: str) -> tuple[int | None, str | None]:
    """The order a typed or scanned text names, and the tag when it was an item's tag."""
    scanned = parse(query)
    if scanned.epc is not None:
        tag = session.get(RfidTag, scanned.epc)
        order_id = repository.shipment_order(session, tag.shipment_id) if tag is not None and tag.shipment_id is not None else None
        return order_id, scanned.epc
    if query.isdigit() and len(query) <= 12:
        return (int(query) if session.get(Order, int(query)) is not None else None), None
    if re.fullmatch(codes.CODE_INPUT_PATTERN, query):
        return repository.order_id_by_pickup_code(session, codes.normalise(query)), None
    return None, None


@router.post("/returns", response_class=HTMLResponse)
async def find_order(request: Request) -> Response:
    """Open the desk for the order a number, a pickup code or a returned item's tag names."""

    def work(session: Session, principal: Principal, form: dict[str, str]) -> Response:
        query = form.get("q", "").strip()[:64]
        order_id, epc = _order_for(session, query)
        if order_id is None:
            return _desk_home(request, session, principal, query, "not_found", 404)
        return _desk(request, session, principal, order_id, epcs=[epc] if epc else [], ref=uuid.uuid4().hex)

    return await form_action(request, work)


def _desk(request: Request, session: Session, principal: Principal, order_id: int, *, epcs: list[str], ref: str, form: dict[str, str] | None = None,
          problems: list[str] | None = None, done: Any = None, status: int = 200) -> Response:
    order = session.scalars(select(Order).where(Order.id == order_id).options(selectinload(Order.lines))).one_or_none()
    if order is None:
        return _desk_home(request, session, principal, str(order_id), "not_found", 404)
    delivered, returned = repository.delivered(session, order.id), repository.returned(session, order.id)
    products = {p.gtin: p for p in session.scalars(select(Product).where(Product.gtin.in_([ln.gtin for ln in order.lines])))}
    tags = {t.epc: t for t in session.scalars(select(RfidTag).where(RfidTag.epc.in_(epcs)))} if epcs else {}
    lang = lang_of(request)
    lines = []
    for ln in sorted(order.lines, key=lambda x: x.line_no):
        returnable = max(delivered.get(ln.id, 0) - returned.get(ln.id, 0), 0)
        product = products.get(ln.gtin)
        lines.append({
            "line": ln, "name": product.name if product else ln.gtin, "size": product.size if product else None,
            "colour": product.colour if product else None, "delivered": delivered.get(ln.id, 0), "returned": returned.get(ln.id, 0),
            "returnable": returnable, "price": _money(ln.unit_price, order.currency, lang),
            "tagged": [e for e in epcs if tags.get(e) is not None and tags[e].gtin == ln.gtin],
        })
    strangers = [e for e in epcs if tags.get(e) is None or tags[e].gtin not in {ln.gtin for ln in order.lines}]
    store = session.get(Location, principal.location_id)
    refund = None
    if done is not None:
        refund = _money(Decimal(done.refund_due) if done.refund_due is not None else None, done.currency, lang)
    return page(request, "returns.html", status, store=store, who=who(session, principal), order=order, lines=lines, epcs=epcs,
                strangers=strangers, ref=ref, form=form or {}, problems=problems or [], done=done, refund=refund,
                reasons=[r.value for r in ReturnReason], names_by_gtin={ln["line"].gtin: ln["name"] for ln in lines})


def _money(amount: Decimal | None, currency: str | None, lang: str) -> str | None:
    if amount is None or currency is None:
        return None
    return str(format_currency(amount, currency, locale=lang))


@router.post("/returns/{order_id}", response_class=HTMLResponse)
async def desk_action(request: Request, order_id: int) -> Response:
    """Add a scanned item to the return being made (`action=scan`), or take the return in (`action=take`)."""

    def work(session: Session, principal: Principal, form: dict[str, str]) -> Response:
        ref = form.get("ref", "")
        ref = ref if REF.fullmatch(ref) else uuid.uuid4().hex
        epcs = [e for e in form.get("epcs", "").split() if re.fullmatch(r"[0-9A-F]{24,64}", e)][:MAX_TAGS]
        if form.get("action") != "take":
            scanned = parse(form.get("code", ""))
            problems = []
            if scanned.epc is None:
                problems.append("not_a_tag")
            elif scanned.epc not in epcs and len(epcs) < MAX_TAGS:
                epcs.append(scanned.epc)
            return _desk(request, session, principal, order_id, epcs=epcs, ref=ref, form=form, problems=problems)
        order = session.scalars(select(Order).where(Order.id == order_id).options(selectinload(Order.lines))).one_or_none()
        items: list[ReturnEpcItem | ReturnGtinItem] = []
        for ln in order.lines if order is not None else []:
            grade = ReturnGrade.DAMAGED if form.get(f"grade-{ln.line_no}") == "damaged" else ReturnGrade.RESELLABLE
            reason = form.get(f"reason-{ln.line_no}", "other")
            reason_ = ReturnReason(reason) if reason in {r.value for r in ReturnReason} else ReturnReason.OTHER
            tags = session.scalars(select(RfidTag.epc).where(RfidTag.epc.in_(epcs), RfidTag.gtin == ln.gtin)) if epcs else []
            items += [ReturnEpcItem(epc=e, grade=grade, reason=reason_) for e in tags]
            qty = units(form.get(f"qty-{ln.line_no}", "0"))
            if qty:
                items.append(ReturnGtinItem(gtin=ln.gtin, qty=qty, grade=grade, reason=reason_))
        if not items:
            return _desk(request, session, principal, order_id, epcs=epcs, ref=ref, form=form, problems=["nothing"], status=422)
        data = ReturnCreate(external_id=f"store-desk-{ref}", location_id=principal.location_id or "", order_id=order_id, items=items)
        try:
            received = returns.take_in(session, data, principal)
        except ReturnRefused as refused:
            session.rollback()
            messages = [str(item.get("message", "")) for item in (refused.details or {}).get("refused", [])]
            return _desk(request, session, principal, order_id, epcs=epcs, ref=ref, form=form, problems=messages, status=409)
        # Recorded: the page after the redirect reads it back (a reload shows it again, and sends nothing).
        return RedirectResponse(f"/store/returns/{order_id}?taken={received.return_.id}", status_code=303)

    return await form_action(request, work)


@router.get("/returns/{order_id}", response_class=HTMLResponse)
def desk_page(request: Request, order_id: int, taken: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> Response:
    """The desk for one order; `taken`: the return just taken in at this store, shown with its refund."""

    def work(session: Session, principal: Principal) -> Response:
        done = None
        if taken is not None:
            made = session.scalars(select(Return).where(Return.id == taken, Return.order_id == order_id, Return.location_id == principal.location_id)
                                   .options(selectinload(Return.lines))).one_or_none()
            done = returns.read(session, [made])[0] if made is not None else None
        return _desk(request, session, principal, order_id, epcs=[], ref=uuid.uuid4().hex, done=done)

    return as_picker(request, work)

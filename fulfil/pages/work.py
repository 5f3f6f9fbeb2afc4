"""The store app's work pages: pick (one shipment, or a batch picked together), pack with the live RFID verdict, and
the parcel's label (A6, and as PDF).

The pages are rendered with what the picker needs at a glance; their scripts (fulfil/web/store/static/) act through
the API itself with the session cookie (fulfil.edge), so every rule — the claim, scans counted once, short picks,
the verdict — lives in one place, the domain services the API calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from fulfil.api_types import MAX_ID
from fulfil.auth.service import Principal
from fulfil.db import unit_of_work
from fulfil.errors import FulfilError, InvalidInput
from fulfil.labels.gs1_128 import svg, text_svg
from fulfil.labels.pdf import label_pdf
from fulfil.models import Location, Order, Parcel, Role, ShipmentStatus, StaffMember
from fulfil.pages import i18n
from fulfil.pickups import service as pickups
from fulfil.pages.store import form_of, lang_of, page, principal_of, same_site, to_sign_in
from fulfil.shipments import pick_lists, scans, service, verification, workflow
from fulfil.shipments.schemas import PACK_STATION
from fulfil.tasks import service as tasks
from rfid.scan_codes import parse

router = APIRouter(prefix="/store", include_in_schema=False)

PICKABLE = (ShipmentStatus.ASSIGNED, ShipmentStatus.PICKING)
ShipmentIds = Annotated[list[Annotated[int, Query(ge=1, le=MAX_ID)]], Query(alias="shipment", max_length=pick_lists.MAX_BATCH)]


def who(session: Session, principal: Principal) -> str:
    member = session.get(StaffMember, principal.staff_id) if principal.staff_id else None
    return member.name if member is not None else principal.name


def _refused(request: Request, session: Session, principal: Principal, exc: FulfilError) -> HTMLResponse:
    store = session.get(Location, principal.location_id)
    return page(request, "problem.html", exc.status_code, store=store, who=who(session, principal), message=exc.message)


def units(text: str, limit: int = 10_000) -> int:
    """A number of units typed into a form: a whole number from 0 to `limit` (anything else is 0)."""
    text = text.strip()
    return min(int(text), limit) if text.isdigit() else 0


def as_picker(request: Request, work: Callable[[Session, Principal], Response]) -> Response:
    """A page's work for the signed-in picker, in one transaction: to the sign-in page without a session; a refusal
    (claimed by another, not found, a wrong state) rolled back and shown as a page saying why."""
    with unit_of_work(request.app.state.session_factory) as session:
        principal = principal_of(request, session)
        if not isinstance(principal, Principal):
            return to_sign_in(principal.code)
        try:
            return work(session, principal)
        except FulfilError as exc:
            session.rollback()
            return _refused(request, session, principal, exc)


OUTBOX_HEADER = "X-Fulfil-Outbox"  # sent by forms.js: the form came through the page's outbox (a fetch)
NEXT_HEADER = "X-Fulfil-Next"


async def form_action(request: Request, work: Callable[[Session, Principal, dict[str, str]], Response]) -> Response:
    """A page's form posted from this site (403 otherwise), done as the signed-in picker. Sent by the page's outbox
    (forms.js), a redirect is answered as 204 with the page to open in `X-Fulfil-Next`: the script opens it, so the
    page is fetched once (a fetch would follow the redirect, then the script would load the page again)."""
    if not same_site(request):
        return Response("cross-site form refused", status_code=403)
    form = await form_of(request)
    answer = await run_in_threadpool(as_picker, request, lambda session, principal: work(session, principal, form))
    if request.headers.get(OUTBOX_HEADER) and answer.status_code == 303:
        return Response(status_code=204, headers={NEXT_HEADER: answer.headers["location"], "Cache-Control": "no-store"})
    return answer


@router.get("/pick", response_class=HTMLResponse)
def pick_page(request: Request, shipment_ids: ShipmentIds) -> Response:
    """Pick one shipment, or a batch picked together (a slot and a colour per order), in walking order."""
    return as_picker(request, lambda session, principal: _pick(request, session, principal, shipment_ids))


def _pick(request: Request, session: Session, principal: Principal, shipment_ids: list[int]) -> Response:
    batch = pick_lists.pick_list(session, shipment_ids, principal)
    store = session.get(Location, principal.location_id)
    slots = []
    for number, s in enumerate(batch.shipments, start=1):
        mine = scans.holds_claim(s, principal) and principal.role is Role.PICKER
        slots.append({
            "slot": number, "colour": pick_lists.SLOT_COLOURS[number - 1], "shipment": s, "status": s.status.value,
            "pickable": s.status in PICKABLE, "claimed_by_other": s.claimed_at is not None and not scans.holds_claim(s, principal),
            "mine": mine and s.claimed_at is not None, "qty": sum(ln.qty for ln in s.lines), "picked": sum(ln.picked_qty for ln in s.lines),
            "since": i18n.when(s.claimed_at, lang_of(request), store.timezone if store else "UTC")[1] if s.claimed_at else "",
        })
    state = {
        "shipments": [s.id for s in batch.shipments],
        "batch": len(batch.shipments) > 1,
        "lines": [{"gtin": ln.gtin, "slots": {str(k): list(qp) for k, qp in ln.slots.items()}} for ln in batch.lines],
    }
    return page(request, "pick.html", store=store, who=who(session, principal), batch=batch, slots=slots, state=state,
                started=all(s["mine"] and s["status"] == "picking" for s in slots),
                startable=any(s["pickable"] and not s["claimed_by_other"] and not s["mine"] for s in slots),
                blocked=[s for s in slots if s["claimed_by_other"]])


@router.post("/pick", response_class=HTMLResponse)
async def pick_action(request: Request, shipment_ids: ShipmentIds) -> Response:
    """Start picking (claim every shipment of the page) or give them back (release), then show the page again."""
    def work(session: Session, principal: Principal, form: dict[str, str]) -> Response:
        for shipment_id in shipment_ids:
            if form.get("action") == "start":
                workflow.start_picking(session, shipment_id, principal)
            elif form.get("action") == "release":
                scans.release(session, shipment_id, principal)
        if form.get("action") == "release":
            return RedirectResponse("/store/tasks", status_code=303)
        return RedirectResponse(str(request.url.path) + "?" + urlencode([("shipment", i) for i in shipment_ids]), status_code=303)

    return await form_action(request, work)


@router.post("/tasks/{task_id}/done", response_class=HTMLResponse)
async def task_done(request: Request, task_id: int) -> Response:
    """A put back done, or a cycle count with what was counted (on-hand becomes it); then the queue again."""

    def work(session: Session, principal: Principal, form: dict[str, str]) -> Response:
        counted = form.get("counted", "").strip()
        if counted and not counted.isdigit():
            raise InvalidInput("a count is a whole number of units", details=[{"field": "counted", "message": "0 to 1,000,000"}])
        tasks.complete(session, principal.location_id or "", task_id, principal, counted=units(counted, 1_000_000) if counted else None)
        return RedirectResponse("/store/tasks", status_code=303)

    return await form_action(request, work)


def _stations(request: Request, location_id: str, current: str | None) -> list[str]:
    """The store's pack stations: its readers' pack-station zones in the readers file this process ingests with
    (`pack-station-1` when it has none: a station read by another process), and the one the parcel is at."""
    ingest = request.app.state.ingest
    zones = {current} if current else set()
    if ingest is not None:
        zones |= {z for r in ingest.config.readers if r.location == location_id for z in r.antennas.values() if PACK_STATION.fullmatch(z)}
    return sorted(zones) or ["pack-station-1"]


@router.get("/stations", response_class=HTMLResponse)
def station_signs(request: Request) -> Response:
    """Signs to print and put up at the store's pack stations: each station's name as a Code 128 barcode. Scanned at
    the end of picking it packs the order there, scanned on the pack page it chooses the station — no tap needed."""
    def work(session: Session, principal: Principal) -> Response:
        store = session.get(Location, principal.location_id)
        assert store is not None
        signs = [{"station": s, "barcode": text_svg(s)} for s in _stations(request, store.id, None)]
        return page(request, "stations.html", store=store, signs=signs)

    return as_picker(request, work)


@router.get("/pack/{shipment_id}", response_class=HTMLResponse)
def pack_page(request: Request, shipment_id: int) -> Response:
    """Pack a picked shipment at a pack station and watch the RFID verdict; then ship it or make it ready for pickup."""
    return as_picker(request, lambda session, principal: _pack(request, session, principal, shipment_id))


def _pack(request: Request, session: Session, principal: Principal, shipment_id: int) -> Response:
    shipment = service.get(session, shipment_id, principal)
    store = session.get(Location, principal.location_id)
    assert store is not None
    batch = pick_lists.pick_list(session, [shipment.id], principal)
    latest = verification.latest(session, shipment.id)
    parcel = shipment.parcels[-1] if shipment.parcels else None
    collected_here = shipment.pickup_location_id == shipment.location_id
    state = {"shipment": shipment.id, "location": shipment.location_id, "status": shipment.status.value, "station": shipment.pack_station,
             "verdict": latest.verdict if latest is not None else None, "collected_here": collected_here,
             "lines": {ln.gtin: ln.qty for ln in batch.lines}}
    return page(request, "pack.html", store=store, who=who(session, principal), shipment=shipment, lines=batch.lines, parcel=parcel,
                stations=_stations(request, store.id, shipment.pack_station), state=state, collected_here=collected_here)


@router.post("/pack/{shipment_id}", response_class=HTMLResponse)
async def pack_action(request: Request, shipment_id: int) -> Response:
    """The pack page's buttons: start packing at a station, close without a complete verdict (with a reason), ship,
    or make ready for pickup. Then the page again (or the tasks, once the parcel is on its way)."""
    settings = request.app.state.settings

    def work(session: Session, principal: Principal, form: dict[str, str]) -> Response:
        action = form.get("action")
        if action == "pack":
            sscc = _printed_label(form.get("label", "")[:200])
            workflow.pack(session, shipment_id, form.get("station", "")[:64], principal, settings.sscc_company_prefix, sscc)
        elif action == "override":
            reason = form.get("reason", "").strip()[:300]
            if len(reason) < 3:
                raise InvalidInput("say why the parcel is closed without a complete verdict", details=[{"field": "reason", "message": "at least 3 characters"}])
            workflow.close_unverified(session, shipment_id, reason, principal)
        elif action == "ship":
            workflow.ship(session, shipment_id, principal)
        elif action == "ready":
            pickups.ready(session, shipment_id, principal)
        return RedirectResponse(f"/store/pack/{shipment_id}", status_code=303)

    return await form_action(request, work)


def _printed_label(text: str) -> str | None:
    """The SSCC of a pre-printed parcel label as scanned (its GS1-128 barcode, the digits under it, or its tag)."""
    if not text.strip():
        return None
    scan = parse(text)
    if scan.kind != "sscc" or scan.sscc is None:
        raise InvalidInput(f"this is not a parcel label: {scan.problem or 'an item, not a parcel'}", details=[{"field": "label", "message": "not an SSCC"}])
    return scan.sscc


def _label(session: Session, principal: Principal, shipment_id: int) -> dict[str, Any]:
    shipment = service.get(session, shipment_id, principal)
    parcel = session.scalars(select(Parcel).where(Parcel.shipment_id == shipment.id).order_by(Parcel.id.desc()).limit(1)).first()
    if parcel is None:
        raise _NoParcel(f"shipment {shipment.id} has no parcel yet: pack it first")
    order = session.get(Order, shipment.order_id)
    sender = session.get(Location, shipment.location_id)
    pickup = session.get(Location, shipment.pickup_location_id) if shipment.pickup_location_id else None
    assert order is not None and sender is not None
    ship_to = order.ship_to or {}
    if pickup is not None:  # click and collect: to the pickup store, for the customer
        to = [ship_to.get("name") or "", pickup.name, *_address(pickup.address or {})]
    else:
        to = [ship_to.get("name") or "", *_address(ship_to)]
    return {"shipment": shipment, "parcel": parcel, "order": order, "sender": sender, "pickup": pickup, "to": [t for t in to if t.strip()],
            "units": sum(ln.qty for ln in shipment.lines)}


def _address(fields: dict[str, Any]) -> list[str]:
    """Address lines as printed: street lines, postcode and city, country."""
    lines = [str(x) for x in fields.get("address_lines") or fields.get("lines") or [] if x]
    if not lines and fields.get("street"):
        lines = [str(fields["street"])]
    town = " ".join(str(fields[k]) for k in ("postcode", "city") if fields.get(k))
    return [*lines, *([town] if town else []), *([str(fields["country"])] if fields.get("country") else [])]


class _NoParcel(FulfilError):
    status_code = 409
    code = "no_parcel"


@router.get("/label/{shipment_id}.pdf")  # before the page's route, which would take "4.pdf" for its id
def label_pdf_page(request: Request, shipment_id: int) -> Response:
    """The same label as an A6 PDF, for printers that take files."""
    def work(session: Session, principal: Principal) -> Response:
        label = _label(session, principal, shipment_id)
        body = label_pdf(
            sscc=label["parcel"].sscc, order_id=label["order"].id, shipment_id=shipment_id, sender=[label["sender"].name],
            to=label["to"], units=label["units"],
        )
        return Response(body, media_type="application/pdf", headers={
            "Cache-Control": "no-store", "Content-Disposition": f'inline; filename="label-{label["parcel"].sscc}.pdf"'})

    return as_picker(request, work)


@router.get("/label/{shipment_id}", response_class=HTMLResponse)
def label_page(request: Request, shipment_id: int) -> Response:
    """The parcel's shipping label: SSCC as a GS1-128 barcode, address and order id, laid out for A6."""
    def work(session: Session, principal: Principal) -> Response:
        label = _label(session, principal, shipment_id)
        return page(request, "label.html", barcode=svg("00" + label["parcel"].sscc), **label)

    return as_picker(request, work)

"""The store app's pages (/store): server-rendered, working before any script runs (docs/store-app.md).

Authentication: signing in (a staff PIN, or a picker token pasted on a kiosk) puts the session's token in a cookie
that scripts cannot read (HttpOnly), sent only with requests from this site (SameSite=Strict, Secure over HTTPS).
Every page checks it as the API checks a bearer token (expiry, idle sign-out, revocation); a form posted from
another site is refused (its Origin must be this site's). The pages' scripts call the API itself with the same
cookie (fulfil.edge takes it in place of a bearer token, for this site's requests only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from fulfil.auth.service import Principal, authenticate, revoke_token
from fulfil.db import unit_of_work
from fulfil.edge import SESSION_COOKIE
from fulfil.errors import TooManyRequests, Unauthenticated
from fulfil.models import Location, LocationKind, Product, Role, ShipmentStatus, StaffMember, TaskKind
from fulfil.pickups import service as pickups
from fulfil.models.base import utcnow
from fulfil.pages import i18n
from fulfil.pages.render import render
from fulfil.staff import service as staff
from fulfil.staff.schemas import SignIn
from fulfil.tasks import service as tasks

STORE_DIR = Path(__file__).resolve().parent.parent / "web" / "store"
STATIC_URL = "/store/static"
COOKIE = SESSION_COOKIE
MAX_FORM_BYTES = 4096

router = APIRouter(prefix="/store", include_in_schema=False)


def lang_of(request: Request) -> str:
    return i18n.choose(request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language"))


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return render(request, STORE_DIR / "templates", STATIC_URL, lang_of(request), template, status, **context)


def _stores(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(select(Location.id, Location.name).where(Location.active.is_(True), Location.kind == LocationKind.STORE).order_by(Location.name))
    return [(loc_id, name) for loc_id, name in rows]


def same_site(request: Request) -> bool:
    """A form posted from this site (an Origin of another site, or none on a POST from a script elsewhere, is not)."""
    origin = request.headers.get("origin")
    if origin is None:
        return request.headers.get("sec-fetch-site") in (None, "same-origin")
    return urlsplit(origin).netloc == request.url.netloc


async def form_of(request: Request) -> dict[str, str]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), max_num_fields=20).items()}


def _signed_in(request: Request, response: Response, secret: str, max_age: int | None) -> Response:
    response.set_cookie(COOKIE, secret, max_age=max_age, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


def principal_of(request: Request, session: Session) -> Principal | Unauthenticated:
    secret = request.cookies.get(COOKIE)
    if not secret:
        return Unauthenticated("sign in", code="signed_out")
    try:
        principal = authenticate(session, secret)
    except Unauthenticated as exc:
        return exc
    if principal.role is not Role.PICKER or principal.location_id is None:
        return Unauthenticated("a picker session is needed", code="not_a_picker")
    return principal


def to_sign_in(reason: str) -> RedirectResponse:
    response = RedirectResponse(f"/store?reason={reason}", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("", response_class=HTMLResponse)
def sign_inpage(request: Request) -> Response:
    """The sign-in page (or the task queue, when signed in already)."""
    with unit_of_work(request.app.state.session_factory) as session:
        if isinstance(principal_of(request, session), Principal):
            return RedirectResponse("/store/tasks", status_code=303)
        return page(request, "sign_in.html", stores=_stores(session), reason=request.query_params.get("reason"), error=None, chosen=None)


@router.post("", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    """Sign in with a store and a PIN, or a pasted picker token (kiosks)."""
    if not same_site(request):
        return Response("cross-site form refused", status_code=403)
    form = await form_of(request)
    address = request.client.host if request.client else "unknown"
    settings = request.app.state.settings
    factory = request.app.state.session_factory

    def work() -> Response:
        with unit_of_work(factory) as session:
            stores = _stores(session)
            store = form.get("store", "")[:64]
            if form.get("token"):
                try:
                    principal = authenticate(session, form["token"].strip())
                except Unauthenticated:
                    principal = None
                if principal is None or principal.role is not Role.PICKER:
                    return page(request, "sign_in.html", 401, stores=stores, reason=None, error="token", chosen=store)
                return _signed_in(request, RedirectResponse("/store/tasks", status_code=303), form["token"].strip(), None)
            now = utcnow()
            try:
                opened = staff.sign_in_or_count(session, SignIn.model_construct(location_id=store, pin=form.get("pin", "")[:16]), address, settings, now)
            except TooManyRequests as exc:
                return page(request, "sign_in.html", 429, stores=stores, reason=None, error="locked", chosen=store, wait=(exc.headers or {}).get("Retry-After", ""))
            except staff.WrongPin:
                return page(request, "sign_in.html", 401, stores=stores, reason=None, error="pin", chosen=store)
            return _signed_in(request, RedirectResponse("/store/tasks", status_code=303), opened.token, int(settings.staff_session_hours * 3600))

    return await run_in_threadpool(work)


@router.get("/tasks", response_class=HTMLResponse)
def task_queue(request: Request) -> Response:
    """The store's tasks, most urgent first."""
    with unit_of_work(request.app.state.session_factory) as session:
        principal = principal_of(request, session)
        if not isinstance(principal, Principal):
            return to_sign_in(principal.code)
        assert principal.location_id is not None
        store = session.get(Location, principal.location_id)
        assert store is not None
        member = session.get(StaffMember, principal.staff_id) if principal.staff_id else None
        who = member.name if member is not None else principal.name
        queue = tasks.queue(session, store.id, request.app.state.settings)
        gtins = {t.gtin for t in queue if t.gtin}
        names = {gtin: name for gtin, name in session.execute(select(Product.gtin, Product.name).where(Product.gtin.in_(gtins)))} if gtins else {}
        lang = lang_of(request)
        rows = []
        for t in queue:
            day, due = i18n.when(t.due, lang, store.timezone)
            status = t.detail.get("shipment_status")
            href = batchable = None
            if t.kind is TaskKind.PICK and t.shipment_id is not None:
                picking = status in ("assigned", "picking")
                href = f"/store/pick?shipment={t.shipment_id}" if picking else f"/store/pack/{t.shipment_id}"
                batchable = picking and not t.detail.get("claimed_by")
            elif t.kind in (TaskKind.RECEIVE, TaskKind.CURBSIDE):
                href = "/store/pickups"
            rows.append({"task": t, "day": day, "due": due, "due_iso": t.due.isoformat() if t.due else "", "href": href,
                         "batchable": batchable, "stage": status, "product": names.get(t.gtin or "")})
        waiting = len(pickups.waiting(session, principal, None, ShipmentStatus.READY_FOR_PICKUP, 1000, 0))
        return page(request, "tasks.html", store=store, who=who, rows=rows, batchable=sum(1 for r in rows if r["batchable"]), pickups_waiting=waiting)


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """End a staff session (a kiosk's pasted token is only forgotten by this browser: it stays valid)."""
    if not same_site(request):
        return Response("cross-site form refused", status_code=403)
    factory = request.app.state.session_factory

    def work() -> None:
        with unit_of_work(factory) as session:
            principal = principal_of(request, session)
            if isinstance(principal, Principal) and principal.staff_id is not None:
                revoke_token(session, principal.token_id)

    await run_in_threadpool(work)
    return to_sign_in("signed_out")


@router.get("/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """The service worker, served from /store/ so that it may control every store app page (its scope)."""
    return Response((STORE_DIR / "static" / "sw.js").read_bytes(), media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@router.post("/language")
async def language(request: Request) -> Response:
    """The language switch: remembered by this browser for a year."""
    form = await form_of(request)
    lang = form.get("lang") if form.get("lang") in i18n.LANGUAGES else i18n.DEFAULT
    back = form.get("back", "/store")
    response = RedirectResponse(back if back.startswith("/store") and "//" not in back else "/store", status_code=303)
    response.set_cookie(i18n.LANG_COOKIE, str(lang), max_age=365 * 86400, path="/store", samesite="lax", secure=request.url.scheme == "https")
    return response

"""The ops console (/ops): a desktop page of the day's routing decisions with their explanations and the actions
that change them (re-route, force a location, hold an order), and the day's KPIs (docs/operations.md).

Server-rendered, working before any script runs, in French and English like the store app. Signing in takes an ops
token (pasted once); it is kept in a cookie scripts cannot read (HttpOnly), sent only to /ops pages (Path=/ops) and
only from this site (SameSite=Strict): the store app's session on the same browser is untouched. Every action is a
form posted from this site, done by the same domain services as the API, journalled with the token's name.
The what-if page (/ops/whatif) replays a past window under two policies (fulfil.ops.whatif); it writes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from fulfil.auth.service import Principal, authenticate
from fulfil.db import unit_of_work
from fulfil.errors import FulfilError, InvalidInput, Unauthenticated
from fulfil.models import Location, Order, Role
from fulfil.models.routing import DECISION_TAGS
from fulfil.ops import changes, charts, kpis, network_map, whatif
from fulfil.ops.schemas import MAX_SPLIT_PENALTY
from fulfil.orders import service as orders
from fulfil.pages import i18n
from fulfil.pages.render import render
from fulfil.pages.store import form_of, same_site
from fulfil.routing_runs import repository as routing_repository
from fulfil.routing_runs import service as routing

OPS_DIR = Path(__file__).resolve().parent.parent / "web" / "ops"
STATIC_URL = "/ops/static"
COOKIE = "fulfil_ops"
LANG_COOKIE = "fulfil_ops_lang"
SHOWN = 100
# How often the console asks whether anything changed (its live updates), in milliseconds.
POLL_MS = 3000
# The what-if page's form (its query string).
WHATIF_FIELDS = ("since", "until", "a_solver", "a_split", "a_safety", "b_solver", "b_split", "b_safety", "run")

router = APIRouter(prefix="/ops", include_in_schema=False)


def _lang(request: Request) -> str:
    return i18n.choose(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return render(request, OPS_DIR / "templates", STATIC_URL, _lang(request), template, status, **context)


def _principal(request: Request, session: Session) -> Principal | None:
    secret = request.cookies.get(COOKIE)
    if not secret:
        return None
    try:
        principal = authenticate(session, secret)
    except Unauthenticated:
        return None
    return principal if principal.role is Role.OPS else None


def _to_sign_in() -> RedirectResponse:
    response = RedirectResponse("/ops", status_code=303)
    response.delete_cookie(COOKIE, path="/ops")
    return response


@router.get("", response_class=HTMLResponse)
def console(request: Request) -> Response:
    """The console (or its sign-in page): `day` (UTC, default today), `tag` and `location_id` filter the decisions."""
    with unit_of_work(request.app.state.session_factory) as session:
        principal = _principal(request, session)
        if principal is None:
            return _page(request, "sign_in.html", error=None)
        query = request.query_params
        try:
            day = date.fromisoformat(query.get("day", "")) if query.get("day") else datetime.now(UTC).date()
        except ValueError:
            day = datetime.now(UTC).date()
        tag = query.get("tag") if query.get("tag") in DECISION_TAGS else None
        places = list(session.execute(select(Location.id, Location.name, Location.kind, Location.lat, Location.lon, Location.paused_until)
                                      .where(Location.active.is_(True)).order_by(Location.id)))
        location_id = query.get("location_id") if query.get("location_id") in {p.id for p in places} else None
        since = datetime.combine(day, time.min, tzinfo=UTC)
        found = routing_repository.find_decisions(session, location_id=location_id, since=since, until=since + timedelta(days=1),
                                                  tags=[tag] if tag else [], current_only=False, before_id=None, limit=SHOWN)
        held = {o.id: o for o in session.scalars(select(Order).where(Order.id.in_({d.order_id for d in found})))}
        rows = [{"decision": d, "order": held.get(d.order_id), "alternative": (d.explanation or {}).get("alternative"),
                 "binding": (d.explanation or {}).get("binding") or [], "unfilled": (d.explanation or {}).get("unfilled") or {}} for d in found]
        week = kpis.daily(session, since)  # the chosen day last: its figures are the cards', all seven the charts'
        now = datetime.now(UTC)
        return _page(request, "console.html", who=principal.label, day=day, tag=tag, tags=DECISION_TAGS, location_id=location_id,
                     places=places, rows=rows, k=week[-1], done=query.get("done"), problem=query.get("problem"), now=now,
                     version=changes.version(session), poll_ms=POLL_MS,
                     map=network_map.day_map(session, places, since, now),
                     charts={key: charts.sparkline(points) for key, points in kpis.trends(week).items()})


@router.get("/changes")
def changed(request: Request) -> Response:
    """The console's version (fulfil.ops.changes), polled by its live updates (static/live.js): when it changes, the
    page fetches itself again and refreshes its map, key figures and decisions. 401 once signed out."""
    with unit_of_work(request.app.state.session_factory) as session:
        if _principal(request, session) is None:
            return JSONResponse({"error": {"code": "unauthenticated", "message": "sign in again"}}, status_code=401)
        return JSONResponse({"version": changes.version(session)}, headers={"Cache-Control": "no-store"})


@router.get("/whatif", response_class=HTMLResponse)
def what_if(request: Request) -> Response:
    """The what-if replay: a form (a past window, policies A and B) and, once run (`run` in the query), the KPIs of
    both side by side with what was decided then."""
    with unit_of_work(request.app.state.session_factory) as session:
        principal = _principal(request, session)
        if principal is None:
            return _to_sign_in()
        settings = request.app.state.settings
        form, problem = _whatif_form(request.query_params, settings.routing_split_penalty)
        result = None
        if "run" in request.query_params and problem is None:
            a, b = (whatif.Policy(form[f"{x}_solver"], float(form[f"{x}_split"]), form[f"{x}_safety"]) for x in "ab")
            try:
                result = whatif.replay(session, settings, _utc(form["since"]), _utc(form["until"]), a, b)
            except FulfilError as exc:
                problem = exc.message
        return _page(request, "whatif.html", who=principal.label, form=form, problem=problem, result=result, kpis=whatif.KPIS,
                     solvers=whatif.SOLVERS, safety=whatif.SAFETY_STOCK,
                     back=urlencode({k: v for k, v in request.query_params.items() if k in WHATIF_FIELDS}))


def _utc(value: str) -> datetime:
    """A `datetime-local` field's value, read as UTC."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _whatif_form(query: Mapping[str, str], split_penalty: float) -> tuple[dict[str, str], str | None]:
    """The what-if form's values (defaults: today from 00:00 UTC to now, greedy against optimised, the service's split
    penalty, the safety stock recorded) and what is wrong with them, if anything."""
    now = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    form = {"since": datetime.combine(now.date(), time.min).strftime("%Y-%m-%dT%H:%M"), "until": now.strftime("%Y-%m-%dT%H:%M")}
    for x, solver in (("a", "greedy"), ("b", "optimised")):
        form |= {f"{x}_solver": solver, f"{x}_split": f"{split_penalty:g}", f"{x}_safety": whatif.SAFETY_STOCK[0]}
    form |= {k: v.strip()[:40] for k, v in query.items() if k in form and v.strip()}
    problem = None
    for key in ("since", "until"):
        try:
            _utc(form[key])
        except ValueError:
            problem = f"{key}: write the time as YYYY-MM-DDTHH:MM (UTC)"
    for x in "ab":
        try:
            penalty = float(form[f"{x}_split"])
        except ValueError:
            penalty = math.nan
        if not 0 <= penalty <= MAX_SPLIT_PENALTY:
            problem = f"policy {x.upper()}: the split penalty is a number from 0 to {MAX_SPLIT_PENALTY:g}"
        if form[f"{x}_solver"] not in whatif.SOLVERS or form[f"{x}_safety"] not in whatif.SAFETY_STOCK:
            problem = f"policy {x.upper()}: choose a solver and a safety stock from the lists"
    return form, problem


@router.post("", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    """Sign in with an ops token (pasted once; this browser keeps it for /ops pages)."""
    if not same_site(request):
        return Response("cross-site form refused", status_code=403)
    form = await form_of(request)
    token = form.get("token", "").strip()

    def work() -> Response:
        with unit_of_work(request.app.state.session_factory) as session:
            try:
                principal = authenticate(session, token) if token else None
            except Unauthenticated:
                principal = None
            if principal is None or principal.role is not Role.OPS:
                return _page(request, "sign_in.html", 401, error="token")
        response = RedirectResponse("/ops", status_code=303)
        response.set_cookie(COOKIE, token, path="/ops", httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return response

    return await run_in_threadpool(work)


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """Forget the token on this browser (it stays valid: revoke it with `fulfil token revoke`)."""
    if not same_site(request):
        return Response("cross-site form refused", status_code=403)
    return _to_sign_in()


@router.post("/language")
async def language(request: Request) -> Response:
    form = await form_of(request)
    lang = form.get("lang") if form.get("lang") in i18n.LANGUAGES else i18n.DEFAULT
    response = RedirectResponse(_whatif_back(form) if form.get("page") == "/ops/whatif" else _back(form), status_code=303)
    response.set_cookie(LANG_COOKIE, str(lang), max_age=365 * 86400, path="/ops", samesite="lax", secure=request.url.scheme == "https")
    return response


def _back(form: dict[str, str], **extra: str) -> str:
    """The console again, with its filters (`back`, a query string of this page) and what happened."""
    params = {k: v for k, v in parse_qsl(form.get("back", "")) if k in ("day", "tag", "location_id")}
    params |= extra
    return "/ops" + (f"?{urlencode(params)}" if params else "")


def _whatif_back(form: dict[str, str]) -> str:
    """The what-if page again, with its form's values (`back`, its query string)."""
    params = {k: v for k, v in parse_qsl(form.get("back", "")) if k in WHATIF_FIELDS}
    return "/ops/whatif" + (f"?{urlencode(params)}" if params else "")


async def _action(request: Request, work: Callable[[Session, Principal, dict[str, str]], str]) -> Response:
    """A console form: done as the signed-in ops token; back to the console saying what was done, or why not."""
    if not same_site(request):
        return Response("cross-site form refused", status_code=403)
    form = await form_of(request)

    def run() -> Response:
        with unit_of_work(request.app.state.session_factory) as session:
            principal = _principal(request, session)
            if principal is None:
                return _to_sign_in()
            try:
                said = work(session, principal, form)
            except FulfilError as exc:
                session.rollback()
                return RedirectResponse(_back(form, problem=exc.message[:300]), status_code=303)
            return RedirectResponse(_back(form, done=said), status_code=303)

    return await run_in_threadpool(run)


@router.post("/orders/{order_id}/reroute")
async def reroute(request: Request, order_id: int) -> Response:
    """Decide again where the order's unstarted shipments go: the cheapest plan, or the location chosen (an override)."""
    def work(session: Session, principal: Principal, form: dict[str, str]) -> str:
        only = form.get("location_id") or None
        routed = routing.reroute(session, order_id, request.app.state.settings, principal.label, exclude=set(), only=only)
        return f"order {order_id}: {', '.join(routed.decision.location_ids) or '-'}"

    return await _action(request, work)


@router.post("/orders/{order_id}/hold")
async def hold(request: Request, order_id: int) -> Response:
    """Hold the order until released (a reason is needed)."""
    def work(session: Session, principal: Principal, form: dict[str, str]) -> str:
        reason = form.get("reason", "").strip()[:300]
        if len(reason) < 3:
            raise InvalidInput("say why the order is held (3 characters at least)")
        orders.hold(session, order_id, reason, None, principal)
        return f"order {order_id}: held"

    return await _action(request, work)


@router.post("/orders/{order_id}/release-hold")
async def release(request: Request, order_id: int) -> Response:
    def work(session: Session, principal: Principal, form: dict[str, str]) -> str:
        orders.release_hold(session, order_id, principal)
        return f"order {order_id}: released"

    return await _action(request, work)

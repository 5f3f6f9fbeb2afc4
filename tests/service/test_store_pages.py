"""The store app's pages without a browser: sign-in by PIN or kiosk token into a cookie scripts cannot read, the task
queue behind it, sign-out, cross-site forms refused, and French or English as the browser or the switch asks.
(tests/pages/test_store_app_browser.py drives them in Chromium.)"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session

from fulfil.models import Location, LocationKind, SignInFailure


@pytest.fixture(autouse=True)
def _fresh_counts(session: Session) -> Iterator[None]:
    session.execute(delete(SignInFailure))
    session.commit()
    yield


@pytest.fixture()
def store(make_location: Callable[..., Location]) -> Location:
    return make_location(kind=LocationKind.STORE, name=f"Boutique {uuid.uuid4().hex[:6]}")


@pytest.fixture()
def pin(client: TestClient, ops: dict[str, str], store: Location) -> str:
    value = str(100_000 + uuid.uuid4().int % 900_000)
    assert client.post("/api/v1/staff", headers=ops, json={"location_id": store.id, "name": "Léa", "pin": value}).status_code == 201
    return value


def _sign_in(client: TestClient, **form: str) -> Any:
    return client.post("/store", data=form, headers={"Origin": "http://testserver"}, follow_redirects=False)


def test_a_pin_signs_in_to_the_task_queue_with_a_cookie_scripts_cannot_read(client: TestClient, store: Location, pin: str) -> None:
    page = client.get("/store")
    assert page.status_code == 200 and "<h1>Sign in</h1>" in page.text and store.name in page.text
    assert 'for="pin"' in page.text and 'for="store"' in page.text  # every control has a label
    signed = _sign_in(client, store=store.id, pin=pin)
    assert signed.status_code == 303 and signed.headers["location"] == "/store/tasks"
    cookie = signed.headers["set-cookie"]
    assert "fulfil_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Path=/;" in cookie + ";"
    tasks = client.get("/store/tasks")
    assert tasks.status_code == 200 and "<h1>Tasks</h1>" in tasks.text and "Léa" in tasks.text and store.name in tasks.text
    assert "Nothing to do right now." in tasks.text
    assert client.get("/store", follow_redirects=False).headers["location"] == "/store/tasks"  # signed in already
    out = client.post("/store/sign-out", headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/store?reason=signed_out"
    assert client.get("/store/tasks", follow_redirects=False).status_code == 303  # the session was revoked, not only forgotten


def test_a_wrong_pin_says_so_and_the_lockout_is_the_apis(client: TestClient, store: Location, pin: str) -> None:
    wrong = "000000" if pin != "000000" else "111111"
    for _ in range(5):
        refused = _sign_in(client, store=store.id, pin=wrong)
        assert refused.status_code == 401 and "Wrong PIN for this store" in refused.text
    locked = _sign_in(client, store=store.id, pin=pin)
    assert locked.status_code == 429 and "sign-in is locked on this device" in locked.text
    assert "fulfil_session" not in locked.headers.get("set-cookie", "")


def test_without_a_session_the_pages_send_you_to_sign_in(client: TestClient) -> None:
    response = client.get("/store/tasks", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/store?reason=")
    client.cookies.set("fulfil_session", "ffl_not-a-token", path="/store")
    assert client.get("/store/tasks", follow_redirects=False).status_code == 303


def test_a_kiosk_signs_in_with_a_picker_token_only(client: TestClient, store: Location, auth: Callable[..., dict[str, str]], ops: dict[str, str]) -> None:
    ops_secret = ops["Authorization"].split()[1]
    assert _sign_in(client, token=ops_secret).status_code == 401  # an ops token is not a picker session
    picker = auth("picker", store.id)["Authorization"].split()[1]
    assert _sign_in(client, token=picker).status_code == 303
    assert store.name in client.get("/store/tasks").text
    client.post("/store/sign-out", headers={"Origin": "http://testserver"})
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {picker}"}).status_code == 200  # the kiosk token stays valid


def test_the_pages_scripts_call_the_api_with_the_cookie_from_this_site_only(
    client: TestClient, store: Location, pin: str, make_location: Callable[..., Location],
) -> None:
    assert client.get("/api/v1/me").status_code == 401  # no cookie yet
    assert _sign_in(client, store=store.id, pin=pin).status_code == 303
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["role"] == "picker" and me.json()["location_id"] == store.id
    other = make_location(kind=LocationKind.STORE)
    assert client.get("/api/v1/shipments", params={"location_id": other.id}).status_code == 403  # scoped like its token
    body = {"gtin": "04012345000016", "qty": 1}
    assert client.post("/api/v1/pick-lists/scans", json=body).json()["error"]["code"] == "cross_site"  # no Origin
    evil = client.post("/api/v1/pick-lists/scans", json=body, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and evil.json()["error"]["code"] == "cross_site"
    own = client.post("/api/v1/pick-lists/scans", json=body, headers={"Origin": "http://testserver"})
    assert own.status_code == 422  # past the edge: judged by the route (this body is no batch scan)
    client.post("/store/sign-out", headers={"Origin": "http://testserver"})
    assert client.get("/api/v1/me").status_code == 401


def test_forms_from_another_site_are_refused(client: TestClient, store: Location, pin: str) -> None:
    forged = client.post("/store", data={"store": store.id, "pin": pin}, headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert forged.status_code == 403 and "fulfil_session" not in forged.headers.get("set-cookie", "")
    assert client.post("/store/sign-out", headers={"Origin": "https://evil.example"}).status_code == 403


def test_french_from_the_browser_or_the_switch(client: TestClient, store: Location, pin: str) -> None:
    french = client.get("/store", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8"})
    assert '<html lang="fr">' in french.text and "<h1>Connexion</h1>" in french.text and "Votre code PIN" in french.text
    assert _sign_in(client, store=store.id, pin=pin).status_code == 303
    assert "<h1>Tâches</h1>" in client.get("/store/tasks", headers={"Accept-Language": "fr"}).text
    switched = client.post("/store/language", data={"lang": "en", "back": "/store/tasks"}, follow_redirects=False)
    assert switched.headers["location"] == "/store/tasks"
    assert "<h1>Tasks</h1>" in client.get("/store/tasks", headers={"Accept-Language": "fr"}).text  # the switch wins
    assert client.post("/store/language", data={"lang": "fr", "back": "https://evil.example/"}, follow_redirects=False).headers["location"] == "/store"


def test_every_catalog_string_is_used_and_every_page_string_translated() -> None:
    """The French catalog covers every string the store app's and the ops console's templates mark for translation,
    and holds no stale one."""
    import re
    from pathlib import Path

    from babel.messages.pofile import read_po

    from fulfil.pages.store import STORE_DIR

    from fulfil.pages.ops import OPS_DIR

    marked: set[str] = set()
    for template in [*(STORE_DIR / "templates").glob("*.html"), *(OPS_DIR / "templates").glob("*.html")]:
        text = template.read_text(encoding="utf-8")
        marked |= set(re.findall(r'_\(\s*"([^"]+)"', text)) | set(re.findall(r"_\(\s*'([^']+)'", text))
    with (Path(STORE_DIR).parent / "locale" / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = {str(m.id): str(m.string) for m in read_po(po) if m.id}
    assert marked - set(catalog) == set(), "untranslated"
    assert set(catalog) - marked == set(), "stale"
    assert all(catalog.values())


def test_due_times_read_as_staff_read_them() -> None:
    from datetime import datetime, timezone

    from fulfil.pages.i18n import when

    now = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)  # 10:00 in Paris
    assert when(datetime(2026, 12, 7, 13, 0, tzinfo=timezone.utc), "fr", "Europe/Paris", now) == ("today", "14:00")
    assert when(datetime(2026, 12, 7, 23, 30, tzinfo=timezone.utc), "en", "Europe/Paris", now) == ("tomorrow", "12:30\u202fAM")
    day, text = when(datetime(2026, 12, 10, 8, 0, tzinfo=timezone.utc), "fr", "Europe/Paris", now)
    assert day == "" and text == "10/12/2026 09:00"
    assert when(None, "fr", "Europe/Paris", now) == ("", "")


def test_a_put_back_is_confirmed_from_the_queue(
    client: TestClient, ops: dict[str, str], store: Location, pin: str, make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> None:
    import re

    gtin = make_product(name="Écharpe laine").gtin
    stock_of(store.id, gtin, 3)
    order = client.post("/api/v1/orders", headers=ops, json={"external_id": f"PB-{uuid.uuid4().hex[:8]}", "channel": "web",
                                                              "pickup_location_id": store.id, "lines": [{"gtin": gtin, "qty": 1}]}).json()
    [shipment] = order["shipments"]
    assert shipment["location_id"] == store.id
    assert client.post(f"/api/v1/shipments/{shipment['id']}/start", headers=ops).status_code == 200
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=ops, json={"reason": "the customer changed their mind"}).status_code == 200
    assert _sign_in(client, store=store.id, pin=pin).status_code == 303
    queue = client.get("/store/tasks").text
    assert "Écharpe laine × 1" in queue and "Put back: done" in queue
    [task_id] = re.findall(r'action="/store/tasks/(\d+)/done"', queue)
    assert client.post(f"/store/tasks/{task_id}/done", headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.get(f"/api/v1/stock/{store.id}/{gtin}", headers=ops).json()["reserved"] == 1  # held by the put back
    done = client.post(f"/store/tasks/{task_id}/done", headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/store/tasks"
    assert "Put back: done" not in client.get("/store/tasks").text
    assert client.get(f"/api/v1/stock/{store.id}/{gtin}", headers=ops).json()["reserved"] == 0  # on the shelf, available again

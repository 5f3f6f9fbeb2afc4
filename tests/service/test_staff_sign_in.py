"""Store staff sign in on the handheld with their store and a PIN: ops set PINs (6-8 digits, unique per store, kept
only as keyed digests); the PIN gives a picker session scoped to the store that expires and signs out when idle; wrong
PINs lock a device, then a whole store, out for a while, counted in the database so every process sees them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fulfil.app import create_app
from fulfil.models import ApiToken, Location, LocationKind, StaffMember
from fulfil.models.base import utcnow
from tests.factories import quiet_settings


def _pin() -> str:
    return str(100_000 + uuid.uuid4().int % 900_000)


@pytest.fixture()
def store(make_location: Callable[..., Location]) -> Location:
    return make_location(kind=LocationKind.STORE, name="Boutique Test")


@pytest.fixture()
def add_staff(client: TestClient, ops: dict[str, str]) -> Callable[..., dict[str, Any]]:
    def factory(location_id: str, name: str = "Léa", pin: str | None = None) -> dict[str, Any]:
        pin = pin or _pin()
        made = client.post("/api/v1/staff", headers=ops, json={"location_id": location_id, "name": name, "pin": pin})
        assert made.status_code == 201, made.text
        return {**made.json(), "pin": pin}

    return factory


def _from(app: Any, address: str) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=(address, 40000))


def test_a_pin_gives_a_picker_session_for_its_store_only(
    client: TestClient, store: Location, make_location: Callable[..., Location], add_staff: Callable[..., dict[str, Any]], session: Session,
) -> None:
    lea = add_staff(store.id, "Léa")
    signed = client.post("/api/v1/store/sign-in", json={"location_id": store.id, "pin": lea["pin"]})
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert body["staff_id"] == lea["id"] and body["staff_name"] == "Léa" and body["location_id"] == store.id
    assert body["idle_seconds"] == 15 * 60
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"}).json()
    assert me["role"] == "picker" and me["location_id"] == store.id
    other = make_location(kind=LocationKind.STORE)
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert client.get(f"/api/v1/locations/{store.id}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/locations/{other.id}", headers=headers).status_code in (403, 404)
    assert client.get("/api/v1/tokens", headers=headers).status_code == 403
    # The PIN is nowhere in the database: only its keyed digest.
    stored = session.scalars(select(StaffMember).where(StaffMember.id == lea["id"])).one()
    assert lea["pin"] not in stored.pin_digest and len(stored.pin_digest) == 64
    # Signing out ends the session at once.
    assert client.post("/api/v1/store/sign-out", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_the_same_pin_is_refused_within_a_store_but_not_across_stores(
    client: TestClient, ops: dict[str, str], store: Location, make_location: Callable[..., Location], add_staff: Callable[..., dict[str, Any]],
) -> None:
    first = add_staff(store.id, "Léa")
    again = client.post("/api/v1/staff", headers=ops, json={"location_id": store.id, "name": "Hugo", "pin": first["pin"]})
    assert again.status_code == 409 and again.json()["error"]["code"] == "pin_taken"
    elsewhere = make_location(kind=LocationKind.STORE)
    hugo = add_staff(elsewhere.id, "Hugo", pin=first["pin"])
    # Each PIN names the member of its own store.
    for where, who in ((store.id, first), (elsewhere.id, hugo)):
        signed = client.post("/api/v1/store/sign-in", json={"location_id": where, "pin": first["pin"]})
        assert signed.status_code == 200 and signed.json()["staff_id"] == who["id"]


@pytest.mark.parametrize("pin", ["12345", "123456789", "12a456", "", " 123456"])
def test_pins_are_six_to_eight_digits(client: TestClient, ops: dict[str, str], store: Location, pin: str) -> None:
    made = client.post("/api/v1/staff", headers=ops, json={"location_id": store.id, "name": "Léa", "pin": pin})
    assert made.status_code == 422


def test_staff_belong_to_stores(client: TestClient, ops: dict[str, str], make_location: Callable[..., Location]) -> None:
    warehouse = make_location(kind=LocationKind.WAREHOUSE)
    made = client.post("/api/v1/staff", headers=ops, json={"location_id": warehouse.id, "name": "Léa", "pin": _pin()})
    assert made.status_code == 409 and made.json()["error"]["code"] == "not_a_store"
    assert client.post("/api/v1/staff", headers=ops, json={"location_id": "NO-SUCH-STORE", "name": "Léa", "pin": _pin()}).status_code == 404


def test_a_new_pin_or_a_deactivation_signs_them_out_everywhere(
    client: TestClient, ops: dict[str, str], store: Location, add_staff: Callable[..., dict[str, Any]],
) -> None:
    lea = add_staff(store.id)
    sessions = [client.post("/api/v1/store/sign-in", json={"location_id": store.id, "pin": lea["pin"]}).json()["token"] for _ in range(2)]
    new_pin = _pin()
    assert client.patch(f"/api/v1/staff/{lea['id']}", headers=ops, json={"pin": new_pin}).status_code == 200
    for token in sessions:
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.post("/api/v1/store/sign-in", json={"location_id": store.id, "pin": lea["pin"]}).status_code == 401
    token = client.post("/api/v1/store/sign-in", json={"location_id": store.id, "pin": new_pin}).json()["token"]
    assert client.patch(f"/api/v1/staff/{lea['id']}", headers=ops, json={"active": False}).status_code == 200
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    refused = client.post("/api/v1/store/sign-in", json={"location_id": store.id, "pin": new_pin})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "wrong_pin"  # same answer as a wrong PIN
    listed = client.get("/api/v1/staff", headers=ops, params={"location_id": store.id}).json()
    assert [(m["id"], m["active"]) for m in listed] == [(lea["id"], False)]
    assert "pin" not in listed[0] and "pin_digest" not in listed[0]


def test_sessions_end_when_idle_and_at_their_hard_limit(
    client: TestClient, store: Location, add_staff: Callable[..., dict[str, Any]], session: Session,
) -> None:
    lea = add_staff(store.id)

    def signed_in() -> tuple[str, int]:
        body = client.post("/api/v1/store/sign-in", json={"location_id": store.id, "pin": lea["pin"]}).json()
        token_id = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"}).json()["token_id"]
        return body["token"], token_id

    idle, idle_id = signed_in()
    session.execute(update(ApiToken).where(ApiToken.id == idle_id).values(last_used_at=utcnow() - timedelta(minutes=16)))
    session.commit()
    for _ in range(2):  # and stays signed out
        gone = client.get("/api/v1/me", headers={"Authorization": f"Bearer {idle}"})
        assert gone.status_code == 401 and gone.json()["error"]["code"] == "signed_out_idle"

    used, used_id = signed_in()
    session.execute(update(ApiToken).where(ApiToken.id == used_id).values(last_used_at=utcnow() - timedelta(minutes=14)))
    session.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {used}"}).status_code == 200  # 14 minutes idle is fine

    session.execute(update(ApiToken).where(ApiToken.id == used_id).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    ended = client.get("/api/v1/me", headers={"Authorization": f"Bearer {used}"})
    assert ended.status_code == 401 and ended.json()["error"]["code"] == "session_expired"


def test_wrong_pins_lock_the_device_then_the_store_even_for_the_right_pin(
    app: Any, store: Location, add_staff: Callable[..., dict[str, Any]],
) -> None:
    lea = add_staff(store.id)
    wrong = "000000" if lea["pin"] != "000000" else "111111"
    with _from(app, "10.1.1.1") as guesser, _from(app, "10.1.1.2") as colleague:
        for _ in range(5):
            missed = guesser.post("/api/v1/store/sign-in", json={"location_id": store.id, "pin": wrong})
            assert missed.status_code == 401 and missed.json()["error"]["code"] == "wrong_pin"
        locked = guesser.post("/api/v1/store/sign-in", json={"location_id": store.id, "pin": lea["pin"]})
        assert locked.status_code == 429 and 1 <= int(locked.headers["Retry-After"]) <= 900
        # Another device of the store still signs in.
        assert colleague.post("/api/v1/store/sign-in", json={"location_id": store.id, "pin": lea["pin"]}).status_code == 200


def test_the_whole_store_locks_after_many_wrong_pins_from_many_devices(
    engine: Any, session_factory: Any, database_url: str, store: Location, add_staff: Callable[..., dict[str, Any]],
) -> None:
    """Counted in the database: two API apps (as two processes would) share the counts."""
    lea = add_staff(store.id)
    settings = quiet_settings(database_url, staff_sign_in_max_failures=3, staff_sign_in_store_max_failures=8)
    apps = []
    for _ in range(2):
        application = create_app(settings, engine=engine)
        application.state.session_factory = session_factory
        apps.append(application)
    wrong = "000000" if lea["pin"] != "000000" else "111111"
    for i in range(8):  # 8 devices, one wrong PIN each, alternating between the two apps
        with _from(apps[i % 2], f"10.2.0.{i}") as device:
            assert device.post("/api/v1/store/sign-in", json={"location_id": store.id, "pin": wrong}).status_code == 401
    with _from(apps[1], "10.2.0.99") as newcomer:
        locked = newcomer.post("/api/v1/store/sign-in", json={"location_id": store.id, "pin": lea["pin"]})
        assert locked.status_code == 429 and "store" in locked.json()["error"]["message"]


def test_a_device_locked_at_one_store_may_sign_in_at_another(
    app: Any, store: Location, make_location: Callable[..., Location], add_staff: Callable[..., dict[str, Any]],
) -> None:
    other = make_location(kind=LocationKind.STORE)
    hugo = add_staff(other.id, "Hugo")
    with _from(app, "10.3.3.3") as device:
        for _ in range(5):
            assert device.post("/api/v1/store/sign-in", json={"location_id": store.id, "pin": "999999"}).status_code == 401
        assert device.post("/api/v1/store/sign-in", json={"location_id": store.id, "pin": "999999"}).status_code == 429
        assert device.post("/api/v1/store/sign-in", json={"location_id": other.id, "pin": hugo["pin"]}).status_code == 200


def test_unknown_or_closed_stores_answer_like_a_wrong_pin(
    client: TestClient, ops: dict[str, str], store: Location, add_staff: Callable[..., dict[str, Any]],
) -> None:
    lea = add_staff(store.id)
    unknown = client.post("/api/v1/store/sign-in", json={"location_id": "NO-SUCH-STORE", "pin": lea["pin"]})
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "wrong_pin"
    assert client.patch(f"/api/v1/locations/{store.id}", headers=ops, json={"active": False}).status_code == 200
    closed = client.post("/api/v1/store/sign-in", json={"location_id": store.id, "pin": lea["pin"]})
    assert closed.status_code == 401 and closed.json()["error"]["code"] == "wrong_pin"


@pytest.fixture(autouse=True)
def _fresh_counts(session: Session) -> Iterator[None]:
    """Each test starts with no failed sign-ins from the addresses it uses."""
    from sqlalchemy import delete

    from fulfil.models import SignInFailure

    session.execute(delete(SignInFailure))
    session.commit()
    yield

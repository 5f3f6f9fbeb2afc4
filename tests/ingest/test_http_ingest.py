"""Readers posting over HTTP with a device token: scoped to their location, payloads applied exactly once."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete

from fulfil.app import create_app
from fulfil.auth.service import create_token
from fulfil.db import unit_of_work
from fulfil.models import ApiToken, Location, LocationKind, Role
from tests.ingest.conftest import impinj, on_hand
from tests.factories import error_of, quiet_settings


def test_device_posts_reads_for_its_own_location_only(engine: Engine, database_url: str, site: dict[str, Any], tmp_path: Path) -> None:
    store = site["store"]
    other, theirs = f"{store}-B", f"reader-{uuid.uuid4().hex[:6]}"  # their reader's id names no location
    readers = tmp_path / "readers.toml"
    readers.write_text(f"""
[zones.receiving]
arrival_reads = 1
arrival_ms = 0
[[readers]]
id = "dock-{store}"
location = "{store}"
transport = "http"
format = "auto"
[readers.antennas]
1 = "receiving"
[[readers]]
id = "{theirs}"
location = "{other}"
transport = "http"
format = "auto"
[readers.antennas]
1 = "receiving"
""")
    factory = site["factory"]
    with unit_of_work(factory) as s:
        s.add(Location(id=other, name="the store next door", kind=LocationKind.STORE, lat=45.1, lon=4.1))
    with unit_of_work(factory) as s:
        device = create_token(s, role=Role.DEVICE, name=f"dev-{store}", location_id=store).secret
        ops = create_token(s, role=Role.OPS, name=f"dev-{store}").secret
    settings = quiet_settings(database_url, readers_config=readers)
    try:
        with TestClient(create_app(settings, engine=engine)) as client:
            headers = {"Authorization": f"Bearer {device}"}
            epc = site["epcs"][0]
            for _ in range(2):  # a retried POST
                response = client.post(f"/api/v1/ingest/payloads?reader=dock-{store}", headers=headers, content=impinj(epc, 1))
                assert response.status_code == 200, response.text
            assert on_hand(factory, store, site["gtin"]) == 1
            bad = client.post(f"/api/v1/ingest/payloads?reader=dock-{store}", headers=headers, content=b"{not json")
            assert bad.status_code == 200 and bad.json()["rejected"][0]["reason"]
            unknown = client.post("/api/v1/ingest/payloads?reader=nope", headers=headers, content=b"")
            assert unknown.status_code == 404
            # Another location's reader answers exactly as an unknown one would: nothing applied, nothing revealed.
            elsewhere = client.post(f"/api/v1/ingest/payloads?reader={theirs}", headers=headers, content=impinj(site["epcs"][1], 1))
            assert elsewhere.status_code == 404
            assert elsewhere.json()["error"]["code"] == unknown.json()["error"]["code"] == "not_found"
            assert other not in elsewhere.text and error_of(elsewhere) == _renamed(error_of(unknown), "nope", theirs)
            assert on_hand(factory, other, site["gtin"]) == 0
            assert client.get("/api/v1/ingest/status", headers=headers).status_code == 403
            status = client.get("/api/v1/ingest/status", headers={"Authorization": f"Bearer {ops}"}).json()
            assert status["pipeline"]["rejected"] == 1 and status["pipeline"]["effects"]["received"] == 1
    finally:
        with unit_of_work(factory) as s:
            s.execute(delete(ApiToken).where(ApiToken.name == f"dev-{store}"))
            s.execute(delete(Location).where(Location.id == other))


def _renamed(body: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """An error body with one reader id put in place of another (to compare two 404s word for word)."""
    return json.loads(json.dumps(body).replace(old, new))


def test_ingest_routes_say_when_not_configured(client: TestClient, ops: dict[str, str]) -> None:
    response = client.get("/api/v1/ingest/status", headers=ops)
    assert response.status_code == 409 and response.json()["error"]["code"] == "ingest_not_configured"

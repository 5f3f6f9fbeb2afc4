"""Readers posting over HTTP with a device token: scoped to their location, payloads applied exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete

from fulfil.app import create_app
from fulfil.auth.service import create_token
from fulfil.config import Settings
from fulfil.db import unit_of_work
from fulfil.models import ApiToken, Role
from tests.ingest.conftest import impinj, on_hand


def test_device_posts_reads_for_its_own_location_only(engine: Engine, database_url: str, site: dict[str, Any], tmp_path: Path) -> None:
    store = site["store"]
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
""")
    factory = site["factory"]
    with unit_of_work(factory) as s:
        device = create_token(s, role=Role.DEVICE, name=f"dev-{store}", location_id=store).secret
        ops = create_token(s, role=Role.OPS, name=f"dev-{store}").secret
    settings = Settings(database_url=database_url, readers_config=readers, routing_batch_interval_seconds=0)
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
            assert client.post("/api/v1/ingest/payloads?reader=nope", headers=headers, content=b"").status_code == 404
            assert client.get("/api/v1/ingest/status", headers=headers).status_code == 403
            status = client.get("/api/v1/ingest/status", headers={"Authorization": f"Bearer {ops}"}).json()
            assert status["pipeline"]["rejected"] == 1 and status["pipeline"]["effects"]["received"] == 1
    finally:
        with unit_of_work(factory) as s:
            s.execute(delete(ApiToken).where(ApiToken.name == f"dev-{store}"))


def test_ingest_routes_say_when_not_configured(client: TestClient, ops: dict[str, str]) -> None:
    response = client.get("/api/v1/ingest/status", headers=ops)
    assert response.status_code == 409 and response.json()["error"]["code"] == "ingest_not_configured"

"""Health probes need no token; every error has the stable JSON shape and never leaks a traceback."""

from __future__ import annotations

import os

from fastapi.testclient import TestClient

from fulfil.app import create_app
from fulfil.config import Settings
from fulfil.db import make_engine


def test_healthz_and_readyz_need_no_token(client: TestClient) -> None:
    # The suite's app runs no background job (its sessions share the test's one connection).
    off = {"routing-batch": "off", "pickup-sweep": "off", "hold-sweep": "off", "webhook-dispatch": "off"}
    assert client.get("/healthz").json() == {"status": "ok", "pid": os.getpid(), "jobs": off}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


def test_readyz_reports_503_when_the_database_is_down() -> None:
    # Port 9 on loopback: nothing listens there, so the connection is refused at once.
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2")
    app = create_app(Settings(database_url="sqlite://"), engine=engine)
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert client.get("/healthz").status_code == 200


def test_unknown_route_is_json_404(client: TestClient, ops: dict[str, str]) -> None:
    response = client.get("/api/v1/nothing-here", headers=ops)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_wrong_method_is_json_405(client: TestClient, ops: dict[str, str]) -> None:
    response = client.put("/api/v1/orders", headers=ops, json={})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_malformed_json_body_is_422_with_reason(client: TestClient, ops: dict[str, str]) -> None:
    response = client.post("/api/v1/orders", headers={**ops, "content-type": "application/json"}, content=b'{"external_id": ')
    assert response.status_code == 422
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert body["details"][0]["type"] == "json_invalid"


def test_wrong_types_name_the_field(client: TestClient, ops: dict[str, str]) -> None:
    response = client.post("/api/v1/locations", headers=ops, json={"id": "X", "name": "n", "kind": "castle", "lat": 91, "lon": "east"})
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert {"body.kind", "body.lat", "body.lon"} <= fields


def test_non_integer_path_parameter_is_422(client: TestClient, ops: dict[str, str]) -> None:
    response = client.get("/api/v1/orders/abc", headers=ops)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "path.order_id"


def test_openapi_documents_bearer_auth(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert "/api/v1/orders" in spec["paths"]


def test_405_allow_lists_every_method_of_the_path(client: TestClient, ops: dict[str, str]) -> None:
    # GET and POST /tokens are two routes; the 405 names both, not only the first that matched the path.
    response = client.request("OPTIONS", "/api/v1/tokens", headers=ops)
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}

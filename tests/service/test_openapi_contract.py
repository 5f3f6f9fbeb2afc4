"""The OpenAPI document says what the service really answers: a valid OpenAPI 3.1 document, every error in the
service's own shape, the central rules applied to every route, and rules the schema can express written into it
(so a schema-valid request is never refused for a rule nobody could see)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate
from pydantic import BaseModel, ValidationError

from fulfil.app import create_app
from fulfil.config import Settings
from fulfil.models import LocationKind, Role
from fulfil.openapi import statuses_of
from fulfil.shipments.schemas import PACK_STATION, PackRequest

ERROR_REFS = {"#/components/schemas/Error", "#/components/schemas/InvalidRequest"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app(Settings(database_url="sqlite://")).openapi()


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def schema_of(spec: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    """A JSON Schema validator for one component, its references resolved inside the document."""
    text = json.dumps(spec["components"]["schemas"]).replace("#/components/schemas/", "#/$defs/")
    return jsonschema.Draft202012Validator({"$defs": json.loads(text), "$ref": f"#/$defs/{name}"})


def test_document_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)  # openapi-spec-validator: what generated clients read
    assert spec["openapi"].startswith("3.1")


def test_fastapi_default_validation_error_is_gone(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert "ValidationError" not in spec["components"]["schemas"]
    assert "HTTPValidationError" not in json.dumps(spec)


def test_every_error_response_uses_the_shared_error_schema(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        for code, response in operation["responses"].items():
            if code.startswith("4"):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref in ERROR_REFS, (method, path, code)
                assert (ref == "#/components/schemas/InvalidRequest") == (code == "422"), (method, path, code)


def test_central_rules_on_every_route(spec: dict[str, Any]) -> None:
    unprotected = {("GET", "/healthz"), ("GET", "/readyz"), ("POST", "/api/v1/pickups/{code}/checkin"), ("GET", "/api/v1/track/{code}")}
    for method, path, operation in operations(spec):
        codes = {int(c) for c in operation["responses"] if c.isdigit()}
        if (method, path) in unprotected:
            assert "security" not in operation and not codes & {401, 403}, path
            continue
        if (method, path) == ("POST", "/api/v1/store/sign-in"):  # no token; its 401 is a wrong PIN
            assert "security" not in operation and 401 in codes and 403 not in codes and "PIN" in operation["responses"]["401"]["description"]
            continue
        assert operation["security"] and 401 in codes, (method, path)
        assert operation["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True
        roles = operation["security"][0]["HTTPBearer"]
        assert (403 in codes) == bool(roles), (method, path)  # only /me admits every role
        assert set(roles) <= {r.value for r in Role}
        if "{" in path:
            assert 404 in codes, (method, path)
        if "requestBody" in operation:
            assert {400, 413, 422} <= codes, (method, path)
        if operation.get("parameters") or "requestBody" in operation:
            assert 422 in codes, (method, path)
        assert statuses_of(operation) <= codes


def test_routes_declare_their_own_statuses(spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    assert "409" in paths["/api/v1/orders"]["post"]["responses"]
    assert paths["/api/v1/orders"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/OrderRead")
    adjustments = paths["/api/v1/stock/adjustments"]["post"]["responses"]
    assert {"200", "201", "404", "409"} <= set(adjustments)
    for action in ("start", "picked", "pack", "ship", "reject", "receive", "ready", "handover"):
        assert "409" in paths[f"/api/v1/shipments/{{shipment_id}}/{action}"]["post"]["responses"]
    assert "503" in paths["/readyz"]["get"]["responses"]
    assert set(paths["/api/v1/ingest/payloads"]["post"]["requestBody"]["content"]) == {"application/json", "text/plain"}


# ------------------------------------------------------------------- what the handlers really answer


def _url(path: str, operation: dict[str, Any]) -> str:
    """The path with every parameter filled by a well-formed value naming nothing that exists."""
    values = {"gtin": "00614141999994", "epc": "3034257BF400B7800004CB2F", "location_id": "NOWHERE"}
    for param in operation.get("parameters", []):
        if param["in"] == "path":
            value = values.get(param["name"], "999999999")
            path = path.replace("{" + param["name"] + "}", value)
    return path


def _send(client: TestClient, method: str, url: str, operation: dict[str, Any], headers: dict[str, str]) -> Any:
    query = {"max_seconds": "0.01"} if url.endswith("/stream") else {}  # a stream closes instead of waiting for events
    body = {} if "requestBody" in operation else None
    return client.request(method, url, headers=headers, params=query, json=body)


def test_every_status_a_route_answers_is_documented_with_its_shape(
    client: TestClient, spec: dict[str, Any], auth: Callable[..., dict[str, str]], make_location: Callable[..., Any]
) -> None:
    """Walk every route as no one, as a device, as a picker of another store and as ops with a body that
    names nothing: each status answered is documented, and each error body is the documented Error."""
    store = make_location(kind=LocationKind.STORE).id
    callers = {"anonymous": {}, "bad token": {"Authorization": "Bearer ffl_nonsense"}, "device": auth("device", store),
               "picker": auth("picker", store), "ops": auth("ops")}
    error, invalid = schema_of(spec, "Error"), schema_of(spec, "InvalidRequest")
    seen: set[int] = set()
    for method, path, operation in operations(spec):
        for who, headers in callers.items():
            response = _send(client, method, _url(path, operation), operation, headers)
            documented = {int(c) for c in operation["responses"] if c.isdigit()}
            assert response.status_code in documented, f"{method} {path} as {who}: {response.status_code} {response.text[:300]}"
            if response.status_code >= 400:
                (invalid if response.status_code == 422 else error).validate(response.json())
            seen.add(response.status_code)
    assert {401, 403, 404, 422} <= seen  # the walk reached every central rule


# ------------------------------------------------------------------- rules the schema can express


def test_gtin_pattern_is_the_accepted_lengths(spec: dict[str, Any]) -> None:
    pattern = spec["components"]["schemas"]["ProductCreate"]["properties"]["gtin"]["pattern"]
    assert spec["components"]["schemas"]["ProductCreate"]["properties"]["gtin"]["format"] == "gtin"
    for value, ok in [("96385074", True), ("614141999996", True), ("0614141999996", True), ("00614141999996", True),
                      ("1234567", False), ("123456789", False), ("123456789012345", False), (" 96385074", False), ("9638507a", False)]:
        assert bool(re.search(pattern, value)) is ok, value


@pytest.mark.parametrize(
    ("destination", "schema_valid"),
    [
        ({"ship_to": {"lat": 45.7, "lon": 4.8}}, True),
        ({"pickup_location_id": "ST-1"}, True),
        ({"ship_to": {"lat": 45.7, "lon": 4.8}, "pickup_location_id": None}, True),
        ({"ship_to": None, "pickup_location_id": "ST-1"}, True),
        ({}, False),
        ({"ship_to": None, "pickup_location_id": None}, False),
        ({"ship_to": {"lat": 45.7, "lon": 4.8}, "pickup_location_id": "ST-1"}, False),
    ],
)
def test_order_destination_one_of_is_the_rule_the_api_applies(
    client: TestClient, spec: dict[str, Any], ops: dict[str, str], make_product: Callable[..., Any], destination: dict[str, Any], schema_valid: bool
) -> None:
    body = {"external_id": f"ONE-OF-{len(json.dumps(destination))}", "channel": "web", "lines": [{"gtin": make_product().gtin, "qty": 1}], **destination}
    assert schema_of(spec, "OrderCreate").is_valid(body) is schema_valid
    response = client.post("/api/v1/orders", headers=ops, json=body)
    refused_by_shape = response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "body"
    assert refused_by_shape is not schema_valid, response.text


@pytest.mark.parametrize(
    ("change", "schema_valid"),
    [({"delta": 3}, True), ({"set_on_hand": 0}, True), ({"delta": -2, "set_on_hand": None}, True), ({"delta": 0}, False),
     ({}, False), ({"delta": 1, "set_on_hand": 1}, False), ({"delta": None, "set_on_hand": None}, False)],
)
def test_adjustment_one_of_and_nonzero_delta_are_the_rules_the_api_applies(
    client: TestClient, spec: dict[str, Any], ops: dict[str, str], make_location: Callable[..., Any], make_product: Callable[..., Any],
    change: dict[str, Any], schema_valid: bool,
) -> None:
    body = {"location_id": make_location().id, "gtin": make_product().gtin, "reason": "count", **change}
    assert schema_of(spec, "StockAdjustmentCreate").is_valid(body) is schema_valid
    response = client.post("/api/v1/stock/adjustments", headers=ops, json=body)
    assert (response.status_code != 422) is schema_valid, response.text


@pytest.mark.parametrize(
    ("station", "schema_valid"),
    [("pack-station", True), ("pack-station-1", True), ("pack-station-desk.2", True),
     ("pack-station1", False), ("pack-stationery", False), ("backroom", False), ("pack-station-", False)],
)
def test_pack_station_pattern_is_the_check(spec: dict[str, Any], station: str, schema_valid: bool) -> None:
    assert schema_of(spec, "PackRequest").is_valid({"station": station}) is schema_valid
    assert bool(PACK_STATION.fullmatch(station)) is schema_valid  # what fulfil.shipments.workflow.pack checks
    assert _accepted(PackRequest, {"station": station}) is schema_valid


def test_pattern_end_is_the_end_of_the_text() -> None:
    # `$` is the end of the text for the API (pydantic's regex) and for ECMA clients; only Python's re lets a
    # newline through before it, and the check uses fullmatch.
    assert not _accepted(PackRequest, {"station": "pack-station-1\n"})
    assert not PACK_STATION.fullmatch("pack-station-1\n")


def _accepted(model: type[BaseModel], data: dict[str, Any]) -> bool:
    try:
        model.model_validate(data)
    except ValidationError:
        return False
    return True

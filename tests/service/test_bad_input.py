"""Every class of bad input the fuzzer found answers 4xx with the field named, never 500, and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fulfil.api_types import FREE_JSON_MAX_DEPTH
from tests.factories import error_of

HUGE = 2**70  # beyond 64 bits: SQLite raised OverflowError on these


@pytest.fixture()
def store(make_location: Callable[..., Any]) -> str:
    return str(make_location().id)


@pytest.mark.parametrize("path", [
    "/api/v1/orders/{n}", "/api/v1/orders/{n}/routing", "/api/v1/shipments/{n}", "/api/v1/shipments/{n}/verification",
    "/api/v1/routing/runs/{n}",
])
@pytest.mark.parametrize("n", [HUGE, 2**63, -1, 0])
def test_ids_no_record_can_have_are_404(client: TestClient, ops: dict[str, str], path: str, n: int) -> None:
    response = client.get(path.format(n=n), headers=ops)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/v1/shipments/{n}/start", None),
    ("POST", "/api/v1/shipments/{n}/reject", {"reason": "x"}),
    ("POST", "/api/v1/orders/{n}/reroute", {}),
    ("DELETE", "/api/v1/tokens/{n}", None),
])
def test_huge_ids_in_actions_are_404(client: TestClient, ops: dict[str, str], method: str, path: str, body: Any) -> None:
    response = client.request(method, path.format(n=HUGE), headers=ops, json=body)
    assert response.status_code == 404, response.text


def test_a_non_integer_id_is_still_422(client: TestClient, ops: dict[str, str]) -> None:
    response = client.get("/api/v1/orders/abc", headers=ops)
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "path.order_id"


@pytest.mark.parametrize(("url", "field"), [
    (f"/api/v1/orders?offset={HUGE}", "query.offset"),
    (f"/api/v1/stock?offset={HUGE}", "query.offset"),
    (f"/api/v1/stock/events?after_id={HUGE}", "query.after_id"),
    (f"/api/v1/stock/events?order_id={HUGE}", "query.order_id"),
    (f"/api/v1/shipments?offset={HUGE}", "query.offset"),
    (f"/api/v1/locations?offset={HUGE}", "query.offset"),
    (f"/api/v1/products?offset={HUGE}", "query.offset"),
])
def test_huge_query_integers_are_422_naming_the_parameter(client: TestClient, ops: dict[str, str], url: str, field: str) -> None:
    response = client.get(url, headers=ops)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == field


def test_huge_body_integers_are_422(client: TestClient, ops: dict[str, str], store: str, make_product: Callable[..., Any]) -> None:
    run = client.post("/api/v1/routing/runs", headers=ops, json={"seed": HUGE})
    assert run.status_code == 422 and run.json()["error"]["details"][0]["field"] == "body.seed"
    gtin = make_product().gtin
    order = {"external_id": "HUGE", "channel": "store", "pickup_location_id": store, "lines": [{"gtin": gtin, "qty": HUGE}]}
    assert client.post("/api/v1/orders", headers=ops, json=order).json()["error"]["details"][0]["field"] == "body.lines.0.qty"
    adjustment = {"location_id": store, "gtin": gtin, "delta": HUGE, "reason": "count"}
    assert client.post("/api/v1/stock/adjustments", headers=ops, json=adjustment).status_code == 422


@pytest.mark.parametrize("last_event_id", [f"{HUGE}.{HUGE}", f"{2**63}.0", "-5.-5", "x.y", "1" * 64])
def test_a_last_event_id_out_of_range_starts_from_now(client: TestClient, ops: dict[str, str], store: str, last_event_id: str) -> None:
    with client.stream("GET", f"/api/v1/locations/{store}/stream?max_seconds=0.2", headers={**ops, "Last-Event-ID": last_event_id}) as response:
        assert response.status_code == 200
        assert "retry:" in "".join(response.iter_text())


def test_the_stream_of_an_unknown_location_is_404(client: TestClient, ops: dict[str, str]) -> None:
    response = client.get("/api/v1/locations/NOWHERE-1/stream?max_seconds=0.2", headers=ops)
    assert response.status_code == 404 and response.json()["error"]["details"] == {"location_id": "NOWHERE-1"}


@pytest.mark.parametrize(("path", "field"), [("lat", "body.lat"), ("name", "body.name"), ("pick_cost_per_unit", "body.pick_cost_per_unit"),
                                             ("handling_days", "body.handling_days"), ("active", "body.active")])
def test_null_for_a_field_that_cannot_be_empty_is_422_naming_it(client: TestClient, ops: dict[str, str], store: str, path: str, field: str) -> None:
    response = client.patch(f"/api/v1/locations/{store}", headers=ops, json={path: None})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == field
    assert client.get(f"/api/v1/locations/{store}", headers=ops).json()["lat"] == 48.85  # nothing changed


def test_null_clears_a_field_that_may_be_empty(client: TestClient, ops: dict[str, str], store: str, make_product: Callable[..., Any]) -> None:
    assert client.patch(f"/api/v1/locations/{store}", headers=ops, json={"address": {"city": "Lyon"}}).json()["address"] == {"city": "Lyon"}
    cleared = client.patch(f"/api/v1/locations/{store}", headers=ops, json={"address": None, "capacity_per_day": None})
    assert cleared.status_code == 200 and cleared.json()["address"] is None and cleared.json()["capacity_per_day"] is None
    gtin = make_product().gtin
    assert client.patch(f"/api/v1/products/{gtin}", headers=ops, json={"name": None}).json()["error"]["details"][0]["field"] == "body.name"
    assert client.patch(f"/api/v1/products/{gtin}", headers=ops, json={"aisle": None}).json()["aisle"] is None


@pytest.mark.parametrize("depth", [FREE_JSON_MAX_DEPTH + 1, 500, 989])
@pytest.mark.parametrize("field", ["address", "opening_hours"])
def test_deep_free_form_json_is_422(client: TestClient, ops: dict[str, str], store: str, depth: int, field: str) -> None:
    body = '{"' + field + '": ' + '{"x": ' * (depth - 1) + '{"leaf": 1}' + "}" * depth
    response = client.patch(f"/api/v1/locations/{store}", headers={**ops, "Content-Type": "application/json"}, content=body)
    assert response.status_code == 422, response.text[:300]
    # Refused by the free-form limit, or, past the parser's own depth, as a body too deep to read.
    assert response.json()["error"]["details"][0]["field"] in (f"body.{field}", "body")


def test_json_deeper_than_the_parser_goes_is_4xx(client: TestClient, ops: dict[str, str], store: str) -> None:
    body = '{"address": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.patch(f"/api/v1/locations/{store}", headers={**ops, "Content-Type": "application/json"}, content=body)
    assert response.status_code == 422, response.text[:300]
    assert response.json()["error"]["details"][0]["type"] == "json_too_deep"


def test_wide_or_large_free_form_json_is_422(client: TestClient, ops: dict[str, str], store: str) -> None:
    wide = {f"k{i}": i for i in range(1000)}
    assert client.patch(f"/api/v1/locations/{store}", headers=ops, json={"address": wide}).status_code == 422
    large = {"street": ["x" * 1000] * 30}
    assert client.patch(f"/api/v1/locations/{store}", headers=ops, json={"address": large}).status_code == 422
    fine = {"street": "1 rue de la République", "city": "Lyon", "postcode": "69002", "country": "FR", "floor": {"level": 2}}
    assert client.patch(f"/api/v1/locations/{store}", headers=ops, json={"address": fine}).status_code == 200


@pytest.mark.parametrize("raw", ["Infinity", "-Infinity", "NaN", "1e308", "1e400", "10001"])
def test_non_finite_or_absurd_floats_are_422(client: TestClient, ops: dict[str, str], store: str, raw: str) -> None:
    body = '{"pick_cost_per_unit": ' + raw + "}"
    response = client.patch(f"/api/v1/locations/{store}", headers={**ops, "Content-Type": "application/json"}, content=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "body.pick_cost_per_unit"
    assert client.get(f"/api/v1/locations/{store}", headers=ops).json()["pick_cost_per_unit"] == 1.0


def test_non_finite_floats_are_refused_everywhere(client: TestClient, ops: dict[str, str], store: str) -> None:
    location = '{"id": "INF-1", "name": "x", "kind": "store", "lat": NaN, "lon": 2.0}'
    assert client.post("/api/v1/locations", headers={**ops, "Content-Type": "application/json"}, content=location).status_code == 422
    order = '{"external_id": "INF", "channel": "web", "ship_to": {"lat": 45.0, "lon": Infinity}, "lines": [{"gtin": "00614141000012", "qty": 1}]}'
    assert client.post("/api/v1/orders", headers={**ops, "Content-Type": "application/json"}, content=order).status_code == 422
    run = '{"time_limit_seconds": Infinity}'
    assert client.post("/api/v1/routing/runs", headers={**ops, "Content-Type": "application/json"}, content=run).status_code == 422
    assert client.get(f"/api/v1/locations/{store}/stream?max_seconds=inf", headers=ops).status_code == 422


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/locations", {"id": "LONG-1", "name": "x", "kind": "store", "lat": 1.0, "lon": 1.0, "address": {"street": "x" * 20_000}}),
    ("/api/v1/orders", {"external_id": "LONG", "channel": "web", "ship_to": {"lat": 1.0, "lon": 1.0, "address_lines": ["x" * 10_000]},
                        "lines": [{"gtin": "00614141000012", "qty": 1}]}),
    ("/api/v1/routing/runs", {"seed": 1, "extra": "x"}),
])
def test_long_strings_and_lists_are_422(client: TestClient, ops: dict[str, str], path: str, body: dict[str, Any]) -> None:
    response = client.post(path, headers=ops, json=body)
    assert response.status_code == 422, response.text[:300]


def test_no_request_model_takes_an_unbounded_string() -> None:
    """The backstop: a string field someone forgets to bound is still capped by the request base model."""
    from fulfil.api_types import MAX_TEXT, RequestModel

    class Forgotten(RequestModel):
        text: str

    with pytest.raises(ValueError):
        Forgotten(text="x" * (MAX_TEXT + 1))


def test_a_body_over_the_cap_is_413_before_the_token_is_checked_or_the_body_read(client: TestClient, ops: dict[str, str]) -> None:
    big = json.dumps({"name": "x" * 2_000_000})
    for headers in ({}, ops, {"Authorization": "Bearer ffl_wrong"}):
        response = client.post("/api/v1/locations", headers={**headers, "Content-Type": "application/json"}, content=big)
        assert response.status_code == 413, response.text[:200]
        assert error_of(response)["error"] == {"code": "too_large", "message": "request body larger than 1048576 bytes", "details": {"max_bytes": 1048576}}


def test_a_streamed_body_is_cut_off_at_the_cap(client: TestClient, ops: dict[str, str]) -> None:
    def chunks() -> Any:  # chunked: no Content-Length to refuse up front
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 65_536
        yield b'"}'

    response = client.post("/api/v1/locations", headers={**ops, "Content-Type": "application/json"}, content=chunks())
    assert response.status_code == 413, response.text[:200]


def test_no_token_is_401_whatever_the_body(client: TestClient) -> None:
    response = client.post("/api/v1/orders", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/api/v1/nothing-here").status_code == 401  # no route is discoverable without a token


def test_nul_characters_are_refused_wherever_they_come(client: TestClient, ops: dict[str, str], store: str, make_product: Callable[..., Any]) -> None:
    """PostgreSQL cannot store or even compare text holding NUL: it is refused at the edge or by the schema."""
    assert client.get("/api/v1/orders?external_id=%00", headers=ops).json()["error"]["details"][0]["field"] == "query"
    assert client.get("/api/v1/locations/A%00B", headers=ops).status_code == 404
    named = client.patch(f"/api/v1/locations/{store}", headers=ops, json={"name": "a\u0000b"})
    assert named.status_code == 422 and named.json()["error"]["details"][0]["field"] == "body.name"
    # Free-form JSON is stored as JSON, where NUL is an escape like any other: kept as sent, on both databases.
    kept = client.patch(f"/api/v1/locations/{store}", headers=ops, json={"address": {"a\u0000": "b\u0000"}})
    assert kept.status_code == 200 and kept.json()["address"] == {"a\u0000": "b\u0000"}
    assert client.post("/api/v1/tokens", headers=ops, json={"role": "ops", "name": "a\u0000"}).status_code == 422
    gtin = make_product().gtin
    order = {"external_id": "NUL", "channel": "web", "ship_to": {"lat": 1.0, "lon": 1.0, "address_lines": ["x\u0000"]}, "lines": [{"gtin": gtin, "qty": 1}]}
    assert client.post("/api/v1/orders", headers=ops, json=order).status_code == 422


@pytest.mark.parametrize("key", ["k" * 129, "with space", "tab\tkey"])
def test_an_idempotency_key_is_short_printable_ascii(client: TestClient, ops: dict[str, str], store: str, make_product: Callable[..., Any], key: str) -> None:
    body = {"location_id": store, "gtin": make_product().gtin, "delta": 1, "reason": "count"}
    response = client.post("/api/v1/stock/adjustments", headers={**ops, "Idempotency-Key": key}, json=body)
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "header.Idempotency-Key"


def test_an_error_may_quote_a_nul_it_refused(client: TestClient, ops: dict[str, str]) -> None:
    """Errors quote the bad field's name as sent: the response shape allows any text there (only requests refuse NUL)."""
    response = client.post("/api/v1/locations", headers=ops, json={"x\u0000": 1, "id": "NUL-1", "name": "n", "kind": "store", "lat": 1.0, "lon": 1.0})
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "body.x\u0000"
    spec = client.get("/openapi.json").json()
    assert "pattern" not in spec["components"]["schemas"]["FieldError"]["properties"]["field"]

"""What operators watch: /metrics (an ops token; Prometheus text parsed back with prometheus-client's own parser), a
request id on every answer, in error bodies and in the JSON log lines of a real `fulfil serve` process."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fulfil.models import LocationKind, ParcelVerification, RoutingRun, StockHold, WebhookDelivery
from fulfil.periodic import Periodic
from fulfil.telemetry.collector import ServiceCollector
from fulfil.telemetry.metrics import SHARED_DIRECTORY
from tests.service.flows import place
from tests.service.test_cli import seeded_token, server_log, serving


def scrape(client: TestClient, headers: dict[str, str]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape: (name, sorted labels) -> value."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")  # the Prometheus text format
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def sample(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_need_an_ops_token(client: TestClient, auth: Callable[..., dict[str, str]], make_location: Callable[..., Any]) -> None:
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    store = make_location(kind=LocationKind.STORE).id
    for role, location in (("picker", store), ("device", store), ("channel", None)):
        assert client.get("/metrics", headers=auth(role, location)).status_code == 403, role


def test_requests_are_counted_and_timed_per_route_template(client: TestClient, ops: dict[str, str]) -> None:
    before = scrape(client, ops)
    for order_id in (999_001, 999_002):  # two ids, one route template
        assert client.get(f"/api/v1/orders/{order_id}", headers=ops).status_code == 404
    assert client.get("/api/v1/locations", headers=ops).status_code == 200
    assert client.get("/api/v1/no-such-thing").status_code == 401  # refused at the edge, before any route
    after = scrape(client, ops)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("fulfil_http_requests_total", method="GET", route="/api/v1/orders/{order_id}", status="404") == 2
    assert grew("fulfil_http_requests_total", method="GET", route="/api/v1/locations", status="200") == 1
    assert grew("fulfil_http_requests_total", method="GET", route="unmatched", status="401") == 1
    assert grew("fulfil_http_request_duration_seconds_count", method="GET", route="/api/v1/orders/{order_id}") == 2
    assert grew("fulfil_http_request_duration_seconds_bucket", method="GET", route="/api/v1/locations", le="+Inf") == 1
    assert not [name for name, labels in after if dict(labels).get("route", "").startswith("/api/v1/orders/99")]  # no raw paths


def test_one_process_exposes_its_memory_and_its_own_leads(client: TestClient, ops: dict[str, str], app: Any) -> None:
    """One process (`fulfil serve`, tests): the in-memory registry, and fulfil_job_leader from its jobs' states as
    they are when scraped (the workers' shared files are for `fulfil serve --workers N`: test_metrics_workers.py)."""
    assert SHARED_DIRECTORY is None
    app.state.jobs = {"routing-batch": Periodic("routing-batch", 60, lambda: None, stop_timeout=1), "hold-sweep": None}  # leads alone; off
    assert client.get("/healthz").status_code == 200
    answer = client.get("/metrics", headers=ops)
    families = {family.name: family for family in text_string_to_metric_families(answer.text)}
    assert families["fulfil_http_requests"].type == "counter" and families["fulfil_job_leader"].type == "gauge"
    assert {s.name for s in families["fulfil_http_requests"].samples} == {"fulfil_http_requests_total"}
    assert "fulfil_http_requests_created" in families  # values in memory know when each series began
    assert [(s.labels, s.value) for s in families["fulfil_job_leader"].samples] == [({"job": "routing-batch"}, 1.0)]
    assert not [s for family in families.values() for s in family.samples if "pid" in s.labels]
    states = {"routing-batch": "standby", "hold-sweep": "leader", "pickup-sweep": "off", "webhook-dispatch": "shared"}
    leader = next(f for f in ServiceCollector(app.state.session_factory, None, lambda: states).collect() if f.name == "fulfil_job_leader")
    assert sorted((s.labels["job"], s.value) for s in leader.samples) == [("hold-sweep", 1.0), ("routing-batch", 0.0)]


def test_the_database_metrics_are_the_tables_counts(
    client: TestClient, ops: dict[str, str], auth: Callable[..., dict[str, str]], session: Session, make_location: Callable[..., Any], make_product: Callable[..., Any],
    stock_of: Callable[..., None],
) -> None:
    store = make_location(kind=LocationKind.STORE, lat=45.0, lon=4.0).id
    gtin = make_product().gtin
    stock_of(store, gtin, 3)
    routed_before = sample(scrape(client, ops), "fulfil_routing_realtime_duration_seconds_count")
    place(client, ops, {gtin: 1})
    promised = client.post("/api/v1/promise", headers=auth("channel"), json={"lines": [{"gtin": gtin, "qty": 1}], "hold_seconds": 600,
                                                                          "ship_to": {"lat": 45.0, "lon": 4.0}})
    assert promised.status_code == 200 and promised.json()["hold"] is not None, promised.text
    ran = client.post("/api/v1/routing/runs", headers=ops, json={})
    assert ran.status_code == 201, ran.text
    samples = scrape(client, ops)
    assert sample(samples, "fulfil_routing_realtime_duration_seconds_count") >= routed_before + 1
    assert sample(samples, "fulfil_database_up") == 1
    for status in ("pending", "delivered", "failed"):
        counted = session.scalar(select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status == status))
        assert sample(samples, "fulfil_webhook_deliveries", status=status) == counted
    for status in ("active", "consumed", "released", "expired"):
        counted = session.scalar(select(func.count()).select_from(StockHold).where(StockHold.status == status))
        assert sample(samples, "fulfil_stock_holds", status=status) == counted
    assert sample(samples, "fulfil_stock_holds", status="active") >= 1
    for outcome, complete in (("complete", True), ("incomplete", False)):
        counted = session.scalar(select(func.count()).select_from(ParcelVerification).where(ParcelVerification.complete == complete))
        assert sample(samples, "fulfil_parcel_verifications_total", outcome=outcome) == counted
    run = session.scalars(select(RoutingRun).where(RoutingRun.kind == "batch", RoutingRun.status == "done").order_by(RoutingRun.id.desc())).first()
    assert run is not None
    assert sample(samples, "fulfil_routing_last_batch", field="orders") == run.orders
    assert sample(samples, "fulfil_routing_last_batch", field="cost_after") == run.cost_after


def test_every_answer_carries_its_request_id_and_errors_say_it(client: TestClient, ops: dict[str, str]) -> None:
    made = client.get("/api/v1/orders/999003", headers=ops)
    rid = made.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid) and made.json()["error"]["request_id"] == rid
    kept = client.get("/api/v1/orders/999003", headers={**ops, "X-Request-ID": "shop-7f3a-0001"})
    assert kept.headers["X-Request-ID"] == "shop-7f3a-0001" == kept.json()["error"]["request_id"]
    for junk in ("x", "a b c d e f g h", "<script>alert(1)", "z" * 65):  # not plain, or too short or long: replaced
        answered = client.get("/healthz", headers={"X-Request-ID": junk})
        assert answered.headers["X-Request-ID"] != junk and re.fullmatch(r"[0-9a-f]{32}", answered.headers["X-Request-ID"])
    edge = client.get("/api/v1/orders", headers={"X-Request-ID": "edge-refusal-01"})  # 401 before any route
    assert edge.status_code == 401 and edge.json()["error"]["request_id"] == "edge-refusal-01"
    invalid = client.post("/api/v1/orders", headers={**ops, "X-Request-ID": "invalid-body-01"}, json={"lines": "nope"})
    assert invalid.status_code == 422 and invalid.json()["error"]["request_id"] == "invalid-body-01"


def test_json_logs_of_a_real_server_carry_the_request_id(env: dict[str, str]) -> None:  # noqa: F811
    token = seeded_token(env)
    with serving({**env, "FULFIL_LOG_FORMAT": "json"}, drain=True) as (base, proc):
        answered = httpx.get(f"{base}/api/v1/orders/999004", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "log-trace-0001"})
        assert answered.status_code == 404
        lines = []

        def logged() -> bool:
            lines[:] = [json.loads(line) for line in server_log(proc).splitlines() if line.startswith("{")]
            return any(x.get("request_id") == "log-trace-0001" for x in lines)

        from tests.pages.store_app import wait_for

        wait_for(logged, "the request's access log line")
    access = [x for x in lines if x.get("request_id") == "log-trace-0001"]
    assert access[0]["logger"] == "fulfil.access" and access[0]["status"] == 404
    assert access[0]["route"] == "/api/v1/orders/{order_id}" and access[0]["level"] == "info" and "duration_ms" in access[0]
    assert all(isinstance(x["time"], str) and x["time"].endswith("Z") for x in lines)
    printed = [line for line in server_log(proc).splitlines() if line.strip() and not line.startswith("{")]
    assert all(not line.startswith(("INFO", "WARNING", "ERROR")) for line in printed), printed  # every log line is JSON

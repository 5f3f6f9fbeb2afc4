"""The API under schemathesis: every operation fuzzed in-process (examples, coverage and fuzzing phases, positive
and negative data) as ops, picker and device, then the stateful phase following the links between routes, all
checks on, on the suite's database (SQLite, or PostgreSQL with FULFIL_TEST_DATABASE_URL). It fails on any 5xx,
any response that does not match its documented schema and any undocumented status. Afterwards stock must not
have drifted from its event log.

The configuration is schemathesis.toml at the repository root (seed, phases, checks, example count);
FULFIL_FUZZ_EXAMPLES raises the example count for a longer local run."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import strategies as st
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from fulfil.live import endpoints as live
from fulfil.models import LocationKind
from fulfil.stock.invariant import check as check_stock
from rfid.epc.gs1 import gtin_check_digit

CONFIG_FILE = Path(__file__).resolve().parents[2] / "schemathesis.toml"
EXAMPLES_ENV = "FULFIL_FUZZ_EXAMPLES"
# Scoped tokens mostly meet 403: fewer examples buy the same coverage.
EXAMPLES_SHARE = {"ops": 1.0, "picker": 0.4, "device": 0.2}
STREAM_SECONDS = 0.01


def _gtin_strategy() -> st.SearchStrategy[str]:
    """Valid GTIN-8/12/13/14 (`format: gtin`): the check digit is part of the format."""
    bodies = st.sampled_from([7, 11, 12, 13]).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n))
    return bodies.map(lambda body: body + str(gtin_check_digit(body)))


schemathesis.openapi.format("gtin", _gtin_strategy())


def _sscc_strategy() -> st.SearchStrategy[str]:
    """Valid SSCC-18 of this service's company prefix (`format: sscc`): another company's label is refused, 422."""
    from fulfil.config import Settings

    prefix = Settings.model_fields["sscc_company_prefix"].default
    bodies = st.text("0123456789", min_size=17 - len(prefix), max_size=17 - len(prefix)).map(lambda rest: rest[0] + prefix + rest[1:])
    return bodies.map(lambda body: body + str(gtin_check_digit(body)))


schemathesis.openapi.format("sscc", _sscc_strategy())


@schemathesis.hook
def before_call(context: Any, case: schemathesis.Case, kwargs: Any) -> None:
    """A stream answers until the client leaves; in-process it must close by itself to be judged, so a valid
    (or absent) max_seconds becomes a short one. Invalid values are left for the API to refuse."""
    if not case.operation.path.endswith("/stream"):
        return
    query = case.query if isinstance(case.query, dict) else {}
    value = query.get("max_seconds")
    try:
        valid = value is None or 0 < float(value) <= 86_400
    except (TypeError, ValueError):
        valid = False
    if valid:
        case.query = {**query, "max_seconds": STREAM_SECONDS}


def fuzz_config(bearer: str, share: float = 1.0) -> schemathesis.Config:
    """schemathesis.toml, with the token to call with and the example count (FULFIL_FUZZ_EXAMPLES wins)."""
    data = tomllib.loads(CONFIG_FILE.read_text())
    examples = int(os.environ.get(EXAMPLES_ENV) or data["generation"]["max-examples"])
    data["generation"]["max-examples"] = max(1, round(examples * share))
    data["auth"] = {"openapi": {"HTTPBearer": {"bearer": bearer}}}
    return schemathesis.Config.from_dict(data)


@pytest.fixture()
def world(client: TestClient, session: Session, make_location: Callable[..., Any], make_product: Callable[..., Any],
          stock_of: Callable[..., None], auth: Callable[..., dict[str, str]]) -> dict[str, Any]:
    """A small network the fuzzer can reach real code paths in: a warehouse and two stores, products with
    stock, routed web and click-and-collect orders, and a token of each role."""
    dc = make_location("FZ-DC", kind=LocationKind.WAREHOUSE, lat=45.0, lon=4.0, capacity_per_day=None)
    store = make_location("FZ-ST-1", kind=LocationKind.STORE, lat=45.76, lon=4.83)
    other = make_location("FZ-ST-2", kind=LocationKind.STORE, lat=48.85, lon=2.35)
    gtins = [make_product(name=f"Fuzz product {i}").gtin for i in range(3)]
    for gtin in gtins:
        for loc in (dc, store, other):
            stock_of(loc.id, gtin, 40, safety=1)
    tokens = {"ops": auth("ops"), "picker": auth("picker", store.id), "device": auth("device", store.id)}
    orders = [
        {"external_id": "FZ-WEB-1", "channel": "web", "ship_to": {"lat": 45.7, "lon": 4.8}, "lines": [{"gtin": gtins[0], "qty": 2}]},
        {"external_id": "FZ-CC-1", "channel": "store", "pickup_location_id": store.id, "origin_location_id": store.id,
         "lines": [{"gtin": gtins[1], "qty": 1}, {"gtin": gtins[2], "qty": 1}]},
    ]
    for order in orders:
        response = client.post("/api/v1/orders", headers=tokens["ops"], json=order)
        assert response.status_code == 201, response.text
    return {"tokens": tokens, "locations": [dc.id, store.id, other.id], "gtins": gtins}


def load_schema(app: Any, role: str, world: dict[str, Any], share: float = 1.0) -> Any:
    """The app's own OpenAPI document, loaded over ASGI, calling as `role`."""
    bearer = world["tokens"][role]["Authorization"].removeprefix("Bearer ")
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=fuzz_config(bearer, share))


def assert_no_stock_drift(session: Session) -> None:
    """Stock levels still equal what their event log adds up to."""
    from fulfil.stock.invariant import check  # provided by the stock-invariant work

    session.expire_all()
    drifts = check(session)
    assert drifts == [], f"stock drifted from its event log after the fuzz: {drifts[:20]}"


@pytest.fixture(params=sorted(EXAMPLES_SHARE))
def fuzz_schema(request: pytest.FixtureRequest, app: Any, world: dict[str, Any], session: Session,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(live, "POLL_SECONDS", STREAM_SECONDS)
    role = request.param
    yield load_schema(app, role, world, EXAMPLES_SHARE[role])
    assert_no_stock_drift(session)


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@schema.parametrize()
def test_api(case: schemathesis.Case, connection: Connection) -> None:
    """Every operation, every phase but stateful, every check; the stock invariant after every call. Each call is
    undone afterwards (a savepoint rolled back): cases stay independent, and a long run does not pile up one
    PostgreSQL subtransaction per call in the test's transaction (their locks fill the lock table)."""
    with undone(connection):
        case.call_and_validate()
        drifts = check_stock(connection)
        assert drifts == [], f"stock drifted after {case.operation.label}: {[d.describe() for d in drifts[:20]]}"


@contextmanager
def undone(connection: Connection) -> Iterator[None]:
    """Whatever runs inside is rolled back, and the savepoint released. SQLAlchemy's nested rollback leaves the
    savepoint open (ROLLBACK TO keeps it), so thousands of calls would nest thousands of subtransactions, each
    holding a lock-table entry until PostgreSQL runs out of shared memory."""
    connection.exec_driver_sql("SAVEPOINT fuzz_undo")
    try:
        yield
    finally:
        connection.exec_driver_sql("ROLLBACK TO SAVEPOINT fuzz_undo")
        connection.exec_driver_sql("RELEASE SAVEPOINT fuzz_undo")


def test_api_stateful(app: Any, world: dict[str, Any], session: Session, connection: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sequences of calls following the links between operations (create -> read -> act -> delete), as ops.
    Each sequence starts from the same data (a savepoint rolled back after it), so that what hypothesis draws
    depends only on its choices, never on what an earlier sequence left in the database; the stock invariant is
    checked at the end of every sequence."""
    monkeypatch.setattr(live, "POLL_SECONDS", STREAM_SECONDS)
    loaded = load_schema(app, "ops", world)
    project = loaded.config

    class Machine(loaded.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.sequence = undone(connection)
            self.sequence.__enter__()

        def teardown(self) -> None:
            try:
                drifts = check_stock(connection)  # on the connection: no session may hold a savepoint inside this one
                assert drifts == [], f"stock drifted after a sequence: {[d.describe() for d in drifts[:20]]}"
            finally:
                self.sequence.__exit__(None, None, None)

    Machine.run(
        settings=hypothesis.settings(
            max_examples=project.generation.max_examples,
            stateful_step_count=project.phases.stateful.max_steps,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
    assert_no_stock_drift(session)

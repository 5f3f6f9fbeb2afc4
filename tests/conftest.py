"""Shared fixtures: a real database (SQLite file, or PostgreSQL via FULFIL_TEST_DATABASE_URL), migrated once;
each test in a transaction rolled back at its end; an app and client bound to it; factories for data."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from fulfil.app import create_app
from fulfil.auth.service import create_token
from fulfil.db import is_sqlite, make_engine, normalise_url
from fulfil.migrate import upgrade_engine
from fulfil.models import Location, LocationKind, Product, Role
from fulfil.stock import service as stock_service
from fulfil.stock.invariant import check as check_stock
from fulfil.models import StockCause
from tests.factories import make_gtin, next_number, quiet_settings

TEST_DATABASE_URL_ENV = "FULFIL_TEST_DATABASE_URL"


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ.get(TEST_DATABASE_URL_ENV)
    return f"fulfil test database: {url or 'SQLite file (set ' + TEST_DATABASE_URL_ENV + ' for PostgreSQL)'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL under test: PostgreSQL when FULFIL_TEST_DATABASE_URL is set, else a fresh SQLite file."""
    url = os.environ.get(TEST_DATABASE_URL_ENV)
    if url:
        return normalise_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'fulfil-test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database. On PostgreSQL each run gets its own schema, dropped afterwards."""
    if is_sqlite(database_url):
        eng = make_engine(database_url)
        upgrade_engine(eng)
        yield eng
        eng.dispose()
        return
    schema = f"fulfil_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(database_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = make_engine(database_url + ("&" if "?" in database_url else "?") + f"options=-csearch_path%3D{schema}")
    try:
        upgrade_engine(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def dialect(engine: Engine) -> str:
    return engine.dialect.name


def assert_stock_consistent(bind: Connection | Session, request: pytest.FixtureRequest) -> None:
    """Fail the test if the stock invariant does not hold (fulfil.stock.invariant): a reservation no open shipment
    holds, or a level the event log does not explain. Tests that break the books on purpose are marked `stock_drift`."""
    if request.node.get_closest_marker("stock_drift") is not None:
        return
    drifts = check_stock(bind)
    if drifts:
        pytest.fail("stock invariant broken after the test:\n" + "\n".join(d.describe() for d in drifts[:20]), pytrace=False)


@pytest.fixture()
def connection(engine: Engine, request: pytest.FixtureRequest) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test: nothing a test writes survives it.
    Before the rollback the stock invariant is checked on everything the test wrote."""
    conn = engine.connect()
    outer = conn.begin()
    try:
        yield conn
        if outer.is_active:
            assert_stock_consistent(conn, request)
    finally:
        outer.rollback()
        conn.close()


@pytest.fixture(autouse=True)
def _stock_invariant_of_committed_data(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests that commit for real (workers, races, the CLI on the suite's database) are checked after their
    own clean-up too, on what stays committed."""
    yield
    # `database_url`: the database engine depends on it (RFID modules have an `engine` fixture of their own).
    if "database_url" in request.fixturenames and "engine" in request.fixturenames and "connection" not in request.fixturenames:
        engine: Engine = request.getfixturevalue("engine")
        with engine.connect() as conn:
            assert_stock_consistent(conn, request)


@pytest.fixture()
def session_factory(connection: Connection) -> sessionmaker[Session]:
    """Sessions whose commits become savepoints of the test's outer transaction."""
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False, autoflush=False)


@pytest.fixture()
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    s = session_factory()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture()
def app(engine: Engine, session_factory: sessionmaker[Session], database_url: str) -> Any:
    # No background loops: their threads would share the test's one connection (tests sweep and dispatch themselves).
    # live_poll_seconds: the test's connection never commits, so no NOTIFY wakes a stream: poll as often as without.
    application = create_app(quiet_settings(database_url, live_poll_seconds=0.5), engine=engine)
    application.state.session_factory = session_factory
    return application


@pytest.fixture()
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


# ---------------------------------------------------------------- factories

@pytest.fixture()
def make_location(session: Session) -> Callable[..., Location]:
    def factory(id: str | None = None, kind: LocationKind = LocationKind.STORE, **fields: Any) -> Location:
        values: dict[str, Any] = {"name": "Test location", "lat": 48.85, "lon": 2.35, "capacity_per_day": 50, "pick_cost_per_unit": 1.0, "handling_days": 0}
        values.update(fields)
        loc = Location(id=id or f"LOC-{next_number()}", kind=kind, **values)
        session.add(loc)
        session.commit()
        return loc

    return factory


@pytest.fixture()
def make_product(session: Session) -> Callable[..., Product]:
    def factory(gtin: str | None = None, **fields: Any) -> Product:
        values: dict[str, Any] = {"name": "Test product", "company_prefix_length": 7, "aisle": "A1", "bay": "01", "shelf": "1"}
        values.update(fields)
        product = Product(gtin=gtin or make_gtin(), **values)
        session.add(product)
        session.commit()
        return product

    return factory


@pytest.fixture()
def stock_of(session: Session) -> Callable[..., None]:
    """Put `on_hand` units (and `safety`) of a product at a location through the stock service."""

    def factory(location_id: str, gtin: str, on_hand: int, safety: int = 0) -> None:
        cause = stock_service.Cause(StockCause.SYSTEM, actor="test", reason="receipt")
        stock_service.adjust(session, location_id, gtin, cause, delta=on_hand)
        if safety:
            stock_service.set_safety(session, location_id, gtin, safety, cause)
        session.commit()

    return factory


@pytest.fixture()
def auth(session: Session) -> Callable[..., dict[str, str]]:
    """Authorization headers for a new token of a role (and location)."""

    def factory(role: str = "ops", location_id: str | None = None) -> dict[str, str]:
        issued = create_token(session, role=Role(role), name=f"test-{role}", location_id=location_id)
        session.commit()
        return {"Authorization": f"Bearer {issued.secret}"}

    return factory


@pytest.fixture()
def ops(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth("ops")


@pytest.fixture()
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def _check_fresh(url: str, request: pytest.FixtureRequest) -> None:
    """The stock invariant on a database a test migrated and filled itself (nothing to check if it never migrated)."""
    eng = make_engine(url)
    try:
        with eng.connect() as conn:
            if inspect(conn).has_table("stock_levels"):
                assert_stock_consistent(conn, request)
    finally:
        eng.dispose()


@pytest.fixture()
def fresh_database_url(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database of the kind under test, for tests that run migrations or the CLI themselves;
    the stock invariant is checked on it afterwards."""
    if is_sqlite(database_url):
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        yield url
        _check_fresh(url, request)
        return
    schema = f"fulfil_fresh_{uuid.uuid4().hex[:12]}"
    admin = make_engine(database_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = database_url + ("&" if "?" in database_url else "?") + f"options=-csearch_path%3D{schema}"
        yield url
        _check_fresh(url, request)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI (FULFIL_NO_SKIPS=1) a skipped test is a failure: nothing may silently not run."""
    if os.environ.get("FULFIL_NO_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        reporter.write_line(f"FULFIL_NO_SKIPS: {len(skipped)} test(s) skipped; failing the run", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture()
def env(fresh_database_url: str) -> dict[str, str]:
    """The environment of a CLI or server child process on a fresh database (the project on its import path)."""
    return {**os.environ, "FULFIL_DATABASE_URL": fresh_database_url, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}

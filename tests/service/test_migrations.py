"""The migrations build exactly the schema the models describe, and run down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from fulfil import migrate
from fulfil.db import make_engine
from fulfil.models import Base


def test_models_and_migrations_agree(fresh_database_url: str) -> None:
    migrate.upgrade(fresh_database_url)
    engine = make_engine(fresh_database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == [], f"models differ from migrations: {diff}"
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again(fresh_database_url: str) -> None:
    migrate.upgrade(fresh_database_url)
    migrate.downgrade(fresh_database_url, "base")
    engine = make_engine(fresh_database_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(fresh_database_url)
        inspector = inspect(engine)
        assert {"orders", "stock_levels", "stock_events", "api_tokens", "rfid_tags", "shipments", "parcels", "routing_decisions"} <= set(inspector.get_table_names())
    finally:
        engine.dispose()


def test_every_change_to_locations_raises_the_locations_revision(fresh_database_url: str) -> None:
    """The counter the location index trusts (fulfil.locations.index) moves with inserts, updates and deletes made by
    any statement, Core or ORM: a migration that drops the triggers (SQLite's batch rebuild does) fails here."""
    from sqlalchemy import delete, insert, select, update

    from fulfil.models import Location, LocationKind, Revision
    from fulfil.models.revision import LOCATIONS

    migrate.upgrade(fresh_database_url)
    engine = make_engine(fresh_database_url)
    try:
        def value() -> int:
            with engine.connect() as conn:
                return int(conn.execute(select(Revision.value).where(Revision.name == LOCATIONS)).scalar_one())

        seen = [value()]
        with engine.begin() as conn:
            conn.execute(insert(Location), [{"id": "REV-1", "name": "r", "kind": LocationKind.STORE, "lat": 1.0, "lon": 2.0}])
        seen.append(value())
        with engine.begin() as conn:
            conn.execute(update(Location).where(Location.id == "REV-1").values(name="renamed"))
        seen.append(value())
        with engine.begin() as conn:
            conn.execute(update(Location).where(Location.id == "no such location").values(name="x"))
        seen.append(value())  # a statement that changes no row may raise it too: a reload too many, never one too few
        with engine.begin() as conn:
            conn.execute(delete(Location).where(Location.id == "REV-1"))
        seen.append(value())
        assert seen[1] > seen[0] and seen[2] > seen[1] and seen[4] > seen[3], seen
        with engine.begin() as conn:
            conn.execute(update(Location).where(Location.id == "REV-1").values(name="x"))
            conn.rollback()
        assert value() == seen[4]  # a rolled-back change leaves it alone
    finally:
        engine.dispose()

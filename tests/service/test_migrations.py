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

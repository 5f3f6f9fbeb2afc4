"""PostgreSQL: every event row written notifies the live streams of its location when its transaction commits

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('stock_events', 'parcel_verifications', 'tag_anomalies', 'domain_events')


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return  # SQLite: streams poll
    # The channel is named after the schema (fulfil.live.notify.channel): two deployments on one database never mix.
    # A transaction's notifications with the same payload are delivered once, at its commit; none on a rollback.
    op.execute(
        "CREATE FUNCTION fulfil_notify_event() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_notify('fulfil_events:' || current_schema(), coalesce(NEW.location_id, '')); RETURN NULL; END $$"
    )
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_notify AFTER INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION fulfil_notify_event()")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.execute("DROP FUNCTION IF EXISTS fulfil_notify_event()")

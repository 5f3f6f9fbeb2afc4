"""revisions: a counter per watched table, raised by triggers in the writer's transaction, so a process's copy of
the locations (fulfil.locations.index) is checked against the database with one read per request

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

SQLite: a batch migration that rebuilds `locations` (batch_alter_table copies the table) drops its triggers; such a
migration must create them again (`create_location_triggers`). tests/service/test_migrations.py checks they exist
at head and raise the counter for inserts, updates and deletes.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BUMP = "UPDATE revisions SET value = value + 1 WHERE name = 'locations'"


def create_location_triggers() -> None:
    """Raise the locations counter on every insert, update, delete (and, on PostgreSQL, truncate) of locations."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "CREATE FUNCTION fulfil_locations_revision() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {_BUMP}; RETURN NULL; END $$"
        )
        # One raise per statement, whatever the number of rows it touches.
        op.execute(
            "CREATE TRIGGER locations_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON locations "
            "FOR EACH STATEMENT EXECUTE FUNCTION fulfil_locations_revision()"
        )
        return
    for when in ('INSERT', 'UPDATE', 'DELETE'):
        op.execute(f"CREATE TRIGGER locations_revision_{when.lower()} AFTER {when} ON locations BEGIN {_BUMP}; END")


def drop_location_triggers() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS locations_revision ON locations")
        op.execute("DROP FUNCTION IF EXISTS fulfil_locations_revision()")
        return
    for when in ('insert', 'update', 'delete'):
        op.execute(f"DROP TRIGGER IF EXISTS locations_revision_{when}")


def upgrade() -> None:
    op.create_table('revisions',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_revisions'))
    )
    # A random start: a database made again from nothing never repeats the numbers an API process still holds.
    op.execute(f"INSERT INTO revisions (name, value) VALUES ('locations', {secrets.randbelow(2**40)})")
    create_location_triggers()


def downgrade() -> None:
    drop_location_triggers()
    op.drop_table('revisions')

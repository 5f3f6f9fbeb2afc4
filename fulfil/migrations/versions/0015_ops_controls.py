"""ops controls: routing decisions' tags and places (what ops filter decisions by: split, unfilled, promise risk,
override; a location) and a location's pause (no new parcel until then)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from fulfil.models.base import UTCDateTime
from fulfil.models.routing import decision_tags, delimited

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_until', UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('routing_decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tag_text', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('places_text', sa.Text(), nullable=False, server_default=''))
        batch_op.create_index('ix_routing_decisions_created', ['created_at'], unique=False)
    # The decisions already made get their tags from what they say (the same function new ones use).
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, location_ids, explanation, solver FROM routing_decisions")).all()
    for row in rows:
        locations = row.location_ids if isinstance(row.location_ids, list) else json.loads(row.location_ids or "[]")
        explanation = row.explanation if isinstance(row.explanation, dict) or row.explanation is None else json.loads(row.explanation)
        bind.execute(sa.text("UPDATE routing_decisions SET tag_text = :t, places_text = :p WHERE id = :i"),
                     {"t": delimited(decision_tags(locations, explanation, row.solver)), "p": delimited(sorted(set(locations))), "i": row.id})


def downgrade() -> None:
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.drop_column('paused_until')
    with op.batch_alter_table('routing_decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_routing_decisions_created')
        batch_op.drop_column('places_text')
        batch_op.drop_column('tag_text')

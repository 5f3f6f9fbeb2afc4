"""short picks are retry-safe: each request is kept once per shipment and Idempotency-Key, with the re-routing it caused

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fulfil.models.base

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('short_pick_requests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('routing_decision_id', sa.Integer(), nullable=True),
    sa.Column('new_shipment_ids', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=True),
    sa.Column('created_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['routing_decision_id'], ['routing_decisions.id'], name=op.f('fk_short_pick_requests_routing_decision_id_routing_decisions')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_short_pick_requests_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_short_pick_requests')),
    sa.UniqueConstraint('shipment_id', 'idempotency_key', name=op.f('uq_short_pick_requests_shipment_id_idempotency_key'))
    )


def downgrade() -> None:
    op.drop_table('short_pick_requests')

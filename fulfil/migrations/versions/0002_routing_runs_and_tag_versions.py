"""routing runs and tag versions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fulfil.models.base

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('routing_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('solver', sa.String(length=32), nullable=True),
    sa.Column('solver_status', sa.String(length=32), nullable=True),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('shipments_before', sa.Integer(), nullable=False),
    sa.Column('shipments_after', sa.Integer(), nullable=False),
    sa.Column('moved', sa.Integer(), nullable=False),
    sa.Column('cost_before', sa.Float(), nullable=True),
    sa.Column('cost_after', sa.Float(), nullable=True),
    sa.Column('lower_bound', sa.Float(), nullable=True),
    sa.Column('split_orders', sa.Integer(), nullable=False),
    sa.Column('unfilled_units', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('requested_by', sa.String(length=128), nullable=True),
    sa.Column('started_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_runs'))
    )
    with op.batch_alter_table('rfid_tags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='0'))

    with op.batch_alter_table('routing_decisions', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_routing_decisions_run_id_routing_runs'), 'routing_runs', ['run_id'], ['id'])




def downgrade() -> None:

    with op.batch_alter_table('routing_decisions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_routing_decisions_run_id_routing_runs'), type_='foreignkey')

    with op.batch_alter_table('rfid_tags', schema=None) as batch_op:
        batch_op.drop_column('version')

    op.drop_table('routing_runs')


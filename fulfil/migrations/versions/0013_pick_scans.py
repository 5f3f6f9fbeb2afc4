"""pick scans: who claimed a shipment for picking, and every scan made while picking it (counted once by the
device's scan id)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fulfil.models.base

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = ('accepted', 'wrong_item', 'already_complete', 'duplicate_item', 'not_an_item', 'unreadable')


def upgrade() -> None:
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column('claimed_staff_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('claimed_token_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_shipments_claimed_staff_id_staff_members'), 'staff_members', ['claimed_staff_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_shipments_claimed_token_id_api_tokens'), 'api_tokens', ['claimed_token_id'], ['id'])
    op.create_table('shipment_scans',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('scan_id', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=128), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=True),
    sa.Column('epc', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.Enum(*OUTCOMES, name='scan_outcome', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=160), nullable=False),
    sa.Column('at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_shipment_scans_shipment_id_shipments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_scans')),
    sa.UniqueConstraint('shipment_id', 'scan_id', name=op.f('uq_shipment_scans_shipment_id_scan_id'))
    )
    with op.batch_alter_table('shipment_scans', schema=None) as batch_op:
        batch_op.create_index('ix_shipment_scans_epc', ['shipment_id', 'epc'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shipment_scans', schema=None) as batch_op:
        batch_op.drop_index('ix_shipment_scans_epc')
    op.drop_table('shipment_scans')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_shipments_claimed_token_id_api_tokens'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_shipments_claimed_staff_id_staff_members'), type_='foreignkey')
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claimed_token_id')
        batch_op.drop_column('claimed_staff_id')
        batch_op.drop_column('claimed_by')

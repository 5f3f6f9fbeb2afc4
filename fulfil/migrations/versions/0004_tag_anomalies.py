"""tag anomalies

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fulfil.models.base

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tag_anomalies',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('epc', sa.String(length=64), nullable=False),
    sa.Column('tag_version', sa.Integer(), nullable=False),
    sa.Column('tag_state', sa.Enum('in_stock', 'reserved', 'picked', 'packed', 'shipped', 'sold', 'missing', name='tag_state', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=True),
    sa.Column('location_id', sa.String(length=64), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('reader_id', sa.String(length=128), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('seen_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['epc'], ['rfid_tags.epc'], name=op.f('fk_tag_anomalies_epc_rfid_tags')),
    sa.ForeignKeyConstraint(['gtin'], ['products.gtin'], name=op.f('fk_tag_anomalies_gtin_products')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_tag_anomalies_location_id_locations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tag_anomalies')),
    sa.UniqueConstraint('epc', 'tag_version', 'location_id', name=op.f('uq_tag_anomalies_epc_tag_version_location_id'))
    )
    with op.batch_alter_table('tag_anomalies', schema=None) as batch_op:
        batch_op.create_index('ix_tag_anomalies_location', ['location_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('tag_anomalies', schema=None) as batch_op:
        batch_op.drop_index('ix_tag_anomalies_location')

    op.drop_table('tag_anomalies')

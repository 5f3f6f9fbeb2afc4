"""pack stations and parcel verifications

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fulfil.models.base

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('parcel_verifications',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('parcel_id', sa.Integer(), nullable=True),
    sa.Column('location_id', sa.String(length=64), nullable=False),
    sa.Column('station', sa.String(length=64), nullable=False),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('verdict', sa.JSON(), nullable=False),
    sa.Column('created_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_parcel_verifications_location_id_locations')),
    sa.ForeignKeyConstraint(['parcel_id'], ['parcels.id'], name=op.f('fk_parcel_verifications_parcel_id_parcels')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_parcel_verifications_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parcel_verifications'))
    )
    with op.batch_alter_table('parcel_verifications', schema=None) as batch_op:
        batch_op.create_index('ix_parcel_verifications_location', ['location_id', 'id'], unique=False)

    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pack_station', sa.String(length=64), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_column('pack_station')

    with op.batch_alter_table('parcel_verifications', schema=None) as batch_op:
        batch_op.drop_index('ix_parcel_verifications_location')

    op.drop_table('parcel_verifications')


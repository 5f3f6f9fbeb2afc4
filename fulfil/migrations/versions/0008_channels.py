"""channels: a channel token role, checkout holds (their units reserved, named on stock events), who placed an
order, and each location's time zone and order cut-off for delivery promises

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fulfil.models.base

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES_BEFORE = ['ops', 'picker', 'device']
ROLES_AFTER = [*ROLES_BEFORE, 'channel']


def _roles(values: list[str]) -> None:
    listed = ", ".join(f"'{v}'" for v in values)
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_api_tokens_token_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_api_tokens_token_role'), f"role IN ({listed})")


def upgrade() -> None:
    _roles(ROLES_AFTER)
    op.create_table('stock_holds',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.Enum('active', 'consumed', 'released', 'expired', name='hold_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('option', sa.String(length=80), nullable=False),
    sa.Column('pickup_location_id', sa.String(length=64), nullable=True),
    sa.Column('ship_to_lat', sa.Float(), nullable=True),
    sa.Column('ship_to_lon', sa.Float(), nullable=True),
    sa.Column('basket', sa.JSON(), nullable=False),
    sa.Column('quote', sa.JSON(), nullable=False),
    sa.Column('expires_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.CheckConstraint(
        '(ship_to_lat IS NOT NULL AND ship_to_lon IS NOT NULL AND pickup_location_id IS NULL)'
        ' OR (pickup_location_id IS NOT NULL AND ship_to_lat IS NULL AND ship_to_lon IS NULL)',
        name=op.f('ck_stock_holds_one_destination')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_stock_holds_order_id_orders')),
    sa.ForeignKeyConstraint(['pickup_location_id'], ['locations.id'], name=op.f('fk_stock_holds_pickup_location_id_locations')),
    sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_stock_holds_token_id_api_tokens')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_holds')),
    sa.UniqueConstraint('public_id', name=op.f('uq_stock_holds_public_id'))
    )
    with op.batch_alter_table('stock_holds', schema=None) as batch_op:
        batch_op.create_index('ix_stock_holds_status_expires', ['status', 'expires_at'], unique=False)
    op.create_table('stock_hold_lines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('hold_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.String(length=64), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.CheckConstraint('qty > 0', name=op.f('ck_stock_hold_lines_qty_positive')),
    sa.ForeignKeyConstraint(['gtin'], ['products.gtin'], name=op.f('fk_stock_hold_lines_gtin_products')),
    sa.ForeignKeyConstraint(['hold_id'], ['stock_holds.id'], name=op.f('fk_stock_hold_lines_hold_id_stock_holds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_stock_hold_lines_location_id_locations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_hold_lines'))
    )
    with op.batch_alter_table('stock_hold_lines', schema=None) as batch_op:
        batch_op.create_index('ix_stock_hold_lines_hold', ['hold_id'], unique=False)
    with op.batch_alter_table('stock_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hold_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_stock_events_hold_id_stock_holds'), 'stock_holds', ['hold_id'], ['id'])
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_orders_token_id_api_tokens'), 'api_tokens', ['token_id'], ['id'])
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=False, server_default='UTC'))
        batch_op.add_column(sa.Column('cutoff_time', sa.String(length=5), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.drop_column('cutoff_time')
        batch_op.drop_column('timezone')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_orders_token_id_api_tokens'), type_='foreignkey')
        batch_op.drop_column('token_id')
    with op.batch_alter_table('stock_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_stock_events_hold_id_stock_holds'), type_='foreignkey')
        batch_op.drop_column('hold_id')
    with op.batch_alter_table('stock_hold_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_hold_lines_hold')
    op.drop_table('stock_hold_lines')
    with op.batch_alter_table('stock_holds', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_holds_status_expires')
    op.drop_table('stock_holds')
    op.execute("DELETE FROM api_tokens WHERE role = 'channel'")
    _roles(ROLES_BEFORE)

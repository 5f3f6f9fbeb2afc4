"""the order life after shipping: click and collect, ship-to-store, cancellations, short picks, returns, store tasks,
the quarantine bucket and the business event journal

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fulfil.models.base

# Enum columns are VARCHAR with a CHECK of their values (fulfil.models.base.str_enum): new values mean a new CHECK.
ENUMS = {
    ('shipments', 'status', 'shipment_status'): (
        ['assigned', 'picking', 'picked', 'packed', 'verified', 'shipped', 'rejected', 'superseded'],
        ['in_transit', 'received', 'ready_for_pickup', 'collected', 'expired', 'cancelled'],
    ),
    ('orders', 'status', 'order_status'): (
        ['received', 'routed', 'partially_routed', 'unfillable', 'fulfilling', 'shipped', 'cancelled'],
        ['ready_for_pickup', 'collected'],
    ),
    ('parcels', 'status', 'parcel_status'): (['open', 'sealed', 'verified', 'shipped'], ['received', 'collected']),
    ('rfid_tags', 'state', 'tag_state'): (['in_stock', 'reserved', 'picked', 'packed', 'shipped', 'sold', 'missing'], ['quarantined']),
    ('tag_anomalies', 'tag_state', 'tag_state'): (
        ['in_stock', 'reserved', 'picked', 'packed', 'shipped', 'sold', 'missing'], ['quarantined'],
    ),
    ('stock_events', 'kind', 'stock_event_kind'): (
        ['receipt', 'adjustment', 'reservation', 'release', 'pick', 'shipment', 'sale', 'loss', 'return', 'safety'],
        ['quarantine', 'collection'],
    ),
}


def _enum_values(new: bool) -> None:
    for (table, column, name), (before, added) in ENUMS.items():
        values = before + added if new else before
        listed = ", ".join(f"'{v}'" for v in values)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f'ck_{table}_{name}'), type_='check')
            batch_op.create_check_constraint(op.f(f'ck_{table}_{name}'), f"{column} IN ({listed})")

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _enum_values(new=True)
    op.create_table('order_cancellations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=True),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=True),
    sa.Column('created_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_cancellations_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_cancellations')),
    sa.UniqueConstraint('order_id', 'idempotency_key', name=op.f('uq_order_cancellations_order_id_idempotency_key'))
    )
    with op.batch_alter_table('order_cancellations', schema=None) as batch_op:
        batch_op.create_index('ix_order_cancellations_order', ['order_id'], unique=False)

    op.create_table('returns',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.String(length=64), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('refund_due', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('actor', sa.String(length=128), nullable=True),
    sa.Column('created_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_returns_location_id_locations')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_returns_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_returns')),
    sa.UniqueConstraint('external_id', name=op.f('uq_returns_external_id'))
    )
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.create_index('ix_returns_location', ['location_id', 'id'], unique=False)
        batch_op.create_index('ix_returns_order', ['order_id'], unique=False)

    op.create_table('domain_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('occurred_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('location_id', sa.String(length=64), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_domain_events_location_id_locations')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_domain_events_order_id_orders')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_domain_events_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_domain_events'))
    )
    with op.batch_alter_table('domain_events', schema=None) as batch_op:
        batch_op.create_index('ix_domain_events_location', ['location_id', 'id'], unique=False)
        batch_op.create_index('ix_domain_events_order', ['order_id', 'id'], unique=False)

    op.create_table('handovers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.String(length=64), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('refused', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=True),
    sa.Column('created_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_handovers_location_id_locations')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_handovers_order_id_orders')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_handovers_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handovers')),
    sa.UniqueConstraint('shipment_id', name=op.f('uq_handovers_shipment_id'))
    )
    op.create_table('return_lines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('return_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=False),
    sa.Column('epc', sa.String(length=64), nullable=True),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('grade', sa.Enum('resellable', 'damaged', name='return_grade', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.CheckConstraint('epc IS NULL OR qty = 1', name=op.f('ck_return_lines_one_unit_per_epc')),
    sa.CheckConstraint('qty > 0', name=op.f('ck_return_lines_qty_positive')),
    sa.ForeignKeyConstraint(['gtin'], ['products.gtin'], name=op.f('fk_return_lines_gtin_products')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_return_lines_order_line_id_order_lines')),
    sa.ForeignKeyConstraint(['return_id'], ['returns.id'], name=op.f('fk_return_lines_return_id_returns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_lines')),
    sa.UniqueConstraint('order_line_id', 'epc', name=op.f('uq_return_lines_order_line_id_epc'))
    )
    with op.batch_alter_table('return_lines', schema=None) as batch_op:
        batch_op.create_index('ix_return_lines_order_line', ['order_line_id'], unique=False)

    op.create_table('short_picks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.String(length=64), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Enum('not_found', 'damaged', name='short_reason', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=True),
    sa.Column('created_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('qty > 0', name=op.f('ck_short_picks_qty_positive')),
    sa.ForeignKeyConstraint(['gtin'], ['products.gtin'], name=op.f('fk_short_picks_gtin_products')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_short_picks_location_id_locations')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_short_picks_order_id_orders')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_short_picks_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_short_picks'))
    )
    with op.batch_alter_table('short_picks', schema=None) as batch_op:
        batch_op.create_index('ix_short_picks_order', ['order_id'], unique=False)

    op.create_table('store_tasks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('location_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.Enum('pick', 'put_back', 'cycle_count', 'receive', 'curbside', name='task_kind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('status', sa.Enum('open', 'done', 'cancelled', name='task_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.Column('gtin', sa.String(length=14), nullable=True),
    sa.Column('qty', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_by', sa.String(length=128), nullable=True),
    sa.CheckConstraint('qty IS NULL OR qty > 0', name=op.f('ck_store_tasks_qty_positive')),
    sa.ForeignKeyConstraint(['gtin'], ['products.gtin'], name=op.f('fk_store_tasks_gtin_products')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_store_tasks_location_id_locations')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_store_tasks_order_id_orders')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_store_tasks_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_store_tasks'))
    )
    with op.batch_alter_table('store_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_store_tasks_location_status', ['location_id', 'status'], unique=False)

    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pickup_hold_days', sa.Integer(), nullable=False, server_default='7'))
        batch_op.create_check_constraint(op.f('ck_locations_pickup_hold_days_positive'), 'pickup_hold_days >= 1')

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_qty', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('unit_price', sa.Numeric(precision=12, scale=2), nullable=True))
        batch_op.create_check_constraint(op.f('ck_order_lines_cancelled_within_qty'), 'cancelled_qty >= 0 AND cancelled_qty <= qty')
        batch_op.create_check_constraint(op.f('ck_order_lines_unit_price_nonneg'), 'unit_price IS NULL OR unit_price >= 0')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('pickup_code', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('checked_in_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('checkin', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_orders_pickup_code'), ['pickup_code'])

    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_at', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('pickup_location_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('ready_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('expires_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reminded_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_shipments_pickup_status', ['pickup_location_id', 'status'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_shipments_held_at_locations'), 'locations', ['held_at'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_shipments_pickup_location_id_locations'), 'locations', ['pickup_location_id'], ['id'])
    # Existing shipments are held where they are served; a click-and-collect one knows its pickup store.
    op.execute("UPDATE shipments SET held_at = location_id")
    op.execute("UPDATE shipments SET pickup_location_id = (SELECT orders.pickup_location_id FROM orders WHERE orders.id = shipments.order_id)")
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.alter_column('held_at', existing_type=sa.String(length=64), nullable=False)

    with op.batch_alter_table('stock_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quarantine_delta', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('quarantined_after', sa.Integer(), nullable=False, server_default='0'))

    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quarantined', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_check_constraint(op.f('ck_stock_levels_quarantined_nonneg'), 'quarantined >= 0')



def downgrade() -> None:
    _enum_values(new=False)
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_stock_levels_quarantined_nonneg'), type_='check')
        batch_op.drop_column('quarantined')

    with op.batch_alter_table('stock_events', schema=None) as batch_op:
        batch_op.drop_column('quarantined_after')
        batch_op.drop_column('quarantine_delta')

    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_shipments_pickup_location_id_locations'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_shipments_held_at_locations'), type_='foreignkey')
        batch_op.drop_index('ix_shipments_pickup_status')
        batch_op.drop_column('reminded_at')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('ready_at')
        batch_op.drop_column('pickup_location_id')
        batch_op.drop_column('held_at')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_orders_pickup_code'), type_='unique')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('checkin')
        batch_op.drop_column('checked_in_at')
        batch_op.drop_column('pickup_code')
        batch_op.drop_column('currency')

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_order_lines_unit_price_nonneg'), type_='check')
        batch_op.drop_constraint(op.f('ck_order_lines_cancelled_within_qty'), type_='check')
        batch_op.drop_column('unit_price')
        batch_op.drop_column('cancelled_qty')

    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_locations_pickup_hold_days_positive'), type_='check')
        batch_op.drop_column('pickup_hold_days')

    with op.batch_alter_table('store_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_store_tasks_location_status')

    op.drop_table('store_tasks')
    with op.batch_alter_table('short_picks', schema=None) as batch_op:
        batch_op.drop_index('ix_short_picks_order')

    op.drop_table('short_picks')
    with op.batch_alter_table('return_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_return_lines_order_line')

    op.drop_table('return_lines')
    op.drop_table('handovers')
    with op.batch_alter_table('domain_events', schema=None) as batch_op:
        batch_op.drop_index('ix_domain_events_order')
        batch_op.drop_index('ix_domain_events_location')

    op.drop_table('domain_events')
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.drop_index('ix_returns_order')
        batch_op.drop_index('ix_returns_location')

    op.drop_table('returns')
    with op.batch_alter_table('order_cancellations', schema=None) as batch_op:
        batch_op.drop_index('ix_order_cancellations_order')

    op.drop_table('order_cancellations')

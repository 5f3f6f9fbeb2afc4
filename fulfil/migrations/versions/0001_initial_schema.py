"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fulfil.models.base

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('locations',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('warehouse', 'store', name='location_kind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('address', sa.JSON(), nullable=True),
    sa.Column('capacity_per_day', sa.Integer(), nullable=True),
    sa.Column('pick_cost_per_unit', sa.Float(), nullable=False),
    sa.Column('handling_days', sa.Integer(), nullable=False),
    sa.Column('opening_hours', sa.JSON(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('capacity_per_day IS NULL OR capacity_per_day >= 0', name=op.f('ck_locations_capacity_nonneg')),
    sa.CheckConstraint('handling_days >= 0', name=op.f('ck_locations_handling_days_nonneg')),
    sa.CheckConstraint('lat BETWEEN -90 AND 90', name=op.f('ck_locations_lat_range')),
    sa.CheckConstraint('lon BETWEEN -180 AND 180', name=op.f('ck_locations_lon_range')),
    sa.CheckConstraint('pick_cost_per_unit >= 0', name=op.f('ck_locations_pick_cost_nonneg')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_locations'))
    )
    op.create_table('products',
    sa.Column('gtin', sa.String(length=14), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('company_prefix_length', sa.Integer(), nullable=True),
    sa.Column('aisle', sa.String(length=16), nullable=True),
    sa.Column('bay', sa.String(length=16), nullable=True),
    sa.Column('shelf', sa.String(length=16), nullable=True),
    sa.Column('created_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('company_prefix_length IS NULL OR company_prefix_length BETWEEN 6 AND 12', name=op.f('ck_products_company_prefix_length_range')),
    sa.CheckConstraint('length(gtin) = 14', name=op.f('ck_products_gtin_length')),
    sa.PrimaryKeyConstraint('gtin', name=op.f('pk_products'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('role', sa.Enum('ops', 'picker', 'device', name='token_role', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('location_id', sa.String(length=64), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('token_prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_api_tokens_location_id_locations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('orders',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.Enum('web', 'store', name='order_channel', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('status', sa.Enum('received', 'routed', 'partially_routed', 'unfillable', 'fulfilling', 'shipped', 'cancelled', name='order_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('customer_ref', sa.String(length=128), nullable=True),
    sa.Column('ship_to', sa.JSON(), nullable=True),
    sa.Column('ship_to_lat', sa.Float(), nullable=True),
    sa.Column('ship_to_lon', sa.Float(), nullable=True),
    sa.Column('pickup_location_id', sa.String(length=64), nullable=True),
    sa.Column('origin_location_id', sa.String(length=64), nullable=True),
    sa.Column('promise_days', sa.Integer(), nullable=True),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(ship_to_lat IS NOT NULL AND ship_to_lon IS NOT NULL AND pickup_location_id IS NULL) OR (pickup_location_id IS NOT NULL AND ship_to_lat IS NULL AND ship_to_lon IS NULL)', name=op.f('ck_orders_one_destination')),
    sa.CheckConstraint('promise_days IS NULL OR promise_days >= 0', name=op.f('ck_orders_promise_days_nonneg')),
    sa.ForeignKeyConstraint(['origin_location_id'], ['locations.id'], name=op.f('fk_orders_origin_location_id_locations')),
    sa.ForeignKeyConstraint(['pickup_location_id'], ['locations.id'], name=op.f('fk_orders_pickup_location_id_locations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('external_id', name=op.f('uq_orders_external_id'))
    )
    op.create_table('stock_levels',
    sa.Column('location_id', sa.String(length=64), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=False),
    sa.Column('on_hand', sa.Integer(), nullable=False),
    sa.Column('reserved', sa.Integer(), nullable=False),
    sa.Column('safety', sa.Integer(), nullable=False),
    sa.Column('updated_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('on_hand >= 0', name=op.f('ck_stock_levels_on_hand_nonneg')),
    sa.CheckConstraint('reserved <= on_hand', name=op.f('ck_stock_levels_reserved_within_on_hand')),
    sa.CheckConstraint('reserved >= 0', name=op.f('ck_stock_levels_reserved_nonneg')),
    sa.CheckConstraint('safety >= 0', name=op.f('ck_stock_levels_safety_nonneg')),
    sa.ForeignKeyConstraint(['gtin'], ['products.gtin'], name=op.f('fk_stock_levels_gtin_products')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_stock_levels_location_id_locations')),
    sa.PrimaryKeyConstraint('location_id', 'gtin', name=op.f('pk_stock_levels'))
    )
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.create_index('ix_stock_levels_gtin', ['gtin'], unique=False)

    op.create_table('order_lines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.CheckConstraint('qty > 0', name=op.f('ck_order_lines_qty_positive')),
    sa.ForeignKeyConstraint(['gtin'], ['products.gtin'], name=op.f('fk_order_lines_gtin_products')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_lines_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_lines')),
    sa.UniqueConstraint('order_id', 'line_no', name=op.f('uq_order_lines_order_id_line_no'))
    )
    op.create_table('routing_decisions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('location_ids', sa.JSON(), nullable=False),
    sa.Column('cost', sa.Float(), nullable=False),
    sa.Column('alternatives', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('explanation', sa.JSON(), nullable=True),
    sa.Column('solver', sa.String(length=32), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('decided_by', sa.String(length=128), nullable=True),
    sa.Column('created_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('superseded_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_routing_decisions_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_decisions'))
    )
    with op.batch_alter_table('routing_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_routing_decisions_order', ['order_id', 'id'], unique=False)

    op.create_table('shipments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('assigned', 'picking', 'picked', 'packed', 'verified', 'shipped', 'rejected', 'superseded', name='shipment_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.Column('created_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status_changed_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_shipments_location_id_locations')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_shipments_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments'))
    )
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.create_index('ix_shipments_location_status', ['location_id', 'status'], unique=False)
        batch_op.create_index('ix_shipments_order', ['order_id'], unique=False)

    op.create_table('parcels',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sscc', sa.String(length=18), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('open', 'sealed', 'verified', 'shipped', name='parcel_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('carrier_ref', sa.String(length=128), nullable=True),
    sa.Column('created_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(sscc) = 18', name=op.f('ck_parcels_sscc_length')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_parcels_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parcels')),
    sa.UniqueConstraint('sscc', name=op.f('uq_parcels_sscc'))
    )
    op.create_table('rfid_tags',
    sa.Column('epc', sa.String(length=64), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=True),
    sa.Column('serial', sa.String(length=40), nullable=True),
    sa.Column('location_id', sa.String(length=64), nullable=True),
    sa.Column('zone', sa.String(length=64), nullable=True),
    sa.Column('state', sa.Enum('in_stock', 'reserved', 'picked', 'packed', 'shipped', 'sold', 'missing', name='tag_state', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.Column('last_seen_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['gtin'], ['products.gtin'], name=op.f('fk_rfid_tags_gtin_products')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_rfid_tags_location_id_locations')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_rfid_tags_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('epc', name=op.f('pk_rfid_tags'))
    )
    with op.batch_alter_table('rfid_tags', schema=None) as batch_op:
        batch_op.create_index('ix_rfid_tags_gtin', ['gtin'], unique=False)
        batch_op.create_index('ix_rfid_tags_location_state', ['location_id', 'state'], unique=False)

    op.create_table('shipment_lines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('picked_qty', sa.Integer(), nullable=False),
    sa.CheckConstraint('picked_qty >= 0 AND picked_qty <= qty', name=op.f('ck_shipment_lines_picked_within_qty')),
    sa.CheckConstraint('qty > 0', name=op.f('ck_shipment_lines_qty_positive')),
    sa.ForeignKeyConstraint(['gtin'], ['products.gtin'], name=op.f('fk_shipment_lines_gtin_products')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_shipment_lines_order_line_id_order_lines')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_shipment_lines_shipment_id_shipments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_lines'))
    )
    op.create_table('stock_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('occurred_at', fulfil.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('location_id', sa.String(length=64), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=False),
    sa.Column('kind', sa.Enum('receipt', 'adjustment', 'reservation', 'release', 'pick', 'shipment', 'sale', 'loss', 'return', 'safety', name='stock_event_kind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('cause', sa.Enum('order', 'reader', 'manual', 'system', name='stock_cause', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('on_hand_delta', sa.Integer(), nullable=False),
    sa.Column('reserved_delta', sa.Integer(), nullable=False),
    sa.Column('safety_delta', sa.Integer(), nullable=False),
    sa.Column('on_hand_after', sa.Integer(), nullable=False),
    sa.Column('reserved_after', sa.Integer(), nullable=False),
    sa.Column('safety_after', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.Column('reader_id', sa.String(length=128), nullable=True),
    sa.Column('zone', sa.String(length=64), nullable=True),
    sa.Column('epc', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=128), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['gtin'], ['products.gtin'], name=op.f('fk_stock_events_gtin_products')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_stock_events_location_id_locations')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_stock_events_order_id_orders')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_stock_events_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_events')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_stock_events_idempotency_key'))
    )
    with op.batch_alter_table('stock_events', schema=None) as batch_op:
        batch_op.create_index('ix_stock_events_location_gtin', ['location_id', 'gtin', 'id'], unique=False)
        batch_op.create_index('ix_stock_events_order', ['order_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('stock_events', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_events_order')
        batch_op.drop_index('ix_stock_events_location_gtin')

    op.drop_table('stock_events')
    op.drop_table('shipment_lines')
    with op.batch_alter_table('rfid_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_rfid_tags_location_state')
        batch_op.drop_index('ix_rfid_tags_gtin')

    op.drop_table('rfid_tags')
    op.drop_table('parcels')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index('ix_shipments_order')
        batch_op.drop_index('ix_shipments_location_status')

    op.drop_table('shipments')
    with op.batch_alter_table('routing_decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_routing_decisions_order')

    op.drop_table('routing_decisions')
    op.drop_table('order_lines')
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_levels_gtin')

    op.drop_table('stock_levels')
    op.drop_table('orders')
    op.drop_table('api_tokens')
    op.drop_table('products')
    op.drop_table('locations')


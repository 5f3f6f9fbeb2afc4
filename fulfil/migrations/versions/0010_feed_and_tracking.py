"""feed and tracking: change numbers on stock levels and locations for the local inventory feed's exact incremental
cursor (and the SQLite clock that hands them out), and an unguessable tracking token on every order

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('feed_clock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_clock'))
    )
    op.execute("INSERT INTO feed_clock (id, value) VALUES (1, 0)")
    # Rows as they are now carry 0: a feed's first cursor is above it, and the full feed sends them anyway.
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_seq', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('source_seq', sa.BigInteger(), nullable=False, server_default='0'))
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_seq', sa.BigInteger(), nullable=False, server_default='0'))
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tracking_token', sa.String(length=32), nullable=True))
    # Orders taken in before get a token too: 32 hex digits of the database's own random source, as intake draws
    # with `secrets` (fulfil.tracking.tokens), in one statement however many orders there are.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE orders SET tracking_token = replace(gen_random_uuid()::text, '-', '')")  # 122 random bits
    else:
        op.execute("UPDATE orders SET tracking_token = lower(hex(randomblob(16)))")
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column('tracking_token', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_orders_tracking_token'), ['tracking_token'])


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_orders_tracking_token'), type_='unique')
        batch_op.drop_column('tracking_token')
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.drop_column('change_seq')
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.drop_column('source_seq')
        batch_op.drop_column('change_seq')
    op.drop_table('feed_clock')

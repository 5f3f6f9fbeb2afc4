"""an order held by ops: since when, until when (or until released), and why

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from fulfil.models.base import UTCDateTime

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('held_until', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('hold_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('hold_reason')
        batch_op.drop_column('held_until')
        batch_op.drop_column('held_at')

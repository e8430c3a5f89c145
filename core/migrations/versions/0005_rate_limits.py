"""Rate limits shared by every process: one token bucket row per address or end user.

Revision ID: 0005_rate_limits
Revises: 0004_inbound_recovery
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
import core.models


revision = '0005_rate_limits'
down_revision = '0004_inbound_recovery'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_limit',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('tokens', sa.Float(), nullable=False),
    sa.Column('updated_at', core.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('rate_limit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_limit_updated_at'), ['updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rate_limit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_limit_updated_at'))

    op.drop_table('rate_limit')

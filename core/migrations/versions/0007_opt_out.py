"""Deliverability: addresses that stopped notification emails (RFC 8058 one-click and the unsubscribe mailto).

Revision ID: 0007_opt_out
Revises: 0006_cli
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import core.models


revision = '0007_opt_out'
down_revision = '0006_cli'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('email_opt_out',
    sa.Column('address_key', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('stopped_at', core.models.UTCDateTime(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('address_key')
    )


def downgrade() -> None:
    op.drop_table('email_opt_out')

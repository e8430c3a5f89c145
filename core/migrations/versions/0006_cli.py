"""Agents have a time zone: the console shows times in it.

Revision ID: 0006_cli
Revises: 0005_rate_limits
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006_cli'
down_revision = '0005_rate_limits'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.drop_column('timezone')

"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""
from alembic import op
from sqlmodel import SQLModel

import core.tables  # noqa: F401

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Development placeholder: replaced by explicit operations before the first release.
    SQLModel.metadata.create_all(op.get_bind())


def downgrade() -> None:
    SQLModel.metadata.drop_all(op.get_bind())

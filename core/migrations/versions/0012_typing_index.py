"""Index activity.typing_until: widget servers ask where an agent is typing now without listing every conversation.

Revision ID: 0012_typing_index
Revises: 0010_attachments
Create Date: 2026-12-04
"""
from alembic import op


revision = '0012_typing_index'
down_revision = '0010_attachments'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_activity_typing_until', 'activity', ['typing_until'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_activity_typing_until', table_name='activity')

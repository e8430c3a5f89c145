"""Agent productivity: internal notes on conversations and canned replies (macros).

Revision ID: 0009_productivity
Revises: 0007_opt_out
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import core.models


revision = '0009_productivity'
down_revision = '0007_opt_out'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversation_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('after_seq', sa.Integer(), nullable=False),
    sa.Column('author_agent_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', core.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_conversation_note_conversation_id'), 'conversation_note', ['conversation_id'],
                    unique=False)
    op.create_table('macro',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('set_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('assign_to_me', sa.Boolean(), nullable=False),
    sa.Column('add_tags', sa.JSON(), nullable=False),
    sa.Column('created_at', core.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('macro')
    op.drop_index(op.f('ix_conversation_note_conversation_id'), table_name='conversation_note')
    op.drop_table('conversation_note')

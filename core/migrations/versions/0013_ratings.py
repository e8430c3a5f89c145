"""Agent productivity: who is viewing or typing in a conversation (ephemeral rows), and satisfaction ratings.

Revision ID: 0013_ratings
Revises: 0009_productivity
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import core.models


revision = '0013_ratings'
down_revision = '0009_productivity'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('activity',
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('participant', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('typing_until', core.models.UTCDateTime(), nullable=True),
    sa.Column('viewing_until', core.models.UTCDateTime(), nullable=True),
    sa.Column('preview', sa.Text(), nullable=True),
    sa.Column('updated_at', core.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.PrimaryKeyConstraint('conversation_id', 'participant')
    )
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.create_index('ix_activity_updated', ['updated_at'], unique=False)

    op.create_table('rating',
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('end_user_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Enum('good', 'bad', name='ratingscore'), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', core.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.ForeignKeyConstraint(['end_user_id'], ['enduser.id'], ),
    sa.PrimaryKeyConstraint('conversation_id')
    )
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rating_updated_at'), ['updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rating_updated_at'))
    op.drop_table('rating')
    sa.Enum(name='ratingscore').drop(op.get_bind(), checkfirst=True)
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_updated')
    op.drop_table('activity')

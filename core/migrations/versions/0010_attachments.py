"""Attachments: file contents stored once by SHA-256, and one row per file attached to a message.

Revision ID: 0010_attachments
Revises: 0011_articles
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
import core.models
from sqlalchemy.dialects import postgresql


revision = '0010_attachments'
down_revision = '0011_articles'
branch_labels = None
depends_on = None

# The message table's author kind: on PostgreSQL the type exists already, so it is not created again.
_AUTHOR_KIND = sa.Enum('end_user', 'agent', 'system', name='authorkind').with_variant(
    postgresql.ENUM('end_user', 'agent', 'system', name='authorkind', create_type=False), 'postgresql')


def upgrade() -> None:
    op.create_table('attachment_blob',
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', core.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )
    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('uploader_kind', _AUTHOR_KIND, nullable=False),
    sa.Column('uploader_end_user_id', sa.Integer(), nullable=True),
    sa.Column('uploader_agent_id', sa.Integer(), nullable=True),
    sa.Column('content_id', sqlmodel.sql.sqltypes.AutoString(length=998), nullable=True),
    sa.Column('created_at', core.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ),
    sa.ForeignKeyConstraint(['sha256'], ['attachment_blob.sha256'], ),
    sa.ForeignKeyConstraint(['uploader_end_user_id'], ['enduser.id'], ),
    sa.ForeignKeyConstraint(['uploader_agent_id'], ['agent.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('public_id')
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_uploader_end_user_id'), ['uploader_end_user_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_uploader_end_user_id'))
        batch_op.drop_index(batch_op.f('ix_attachment_sha256'))
        batch_op.drop_index(batch_op.f('ix_attachment_message_id'))
        batch_op.drop_index(batch_op.f('ix_attachment_conversation_id'))
    op.drop_table('attachment')
    op.drop_table('attachment_blob')

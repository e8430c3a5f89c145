"""Initial schema: every table of the first release, written out so later revisions can alter it safely.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
import core.models


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('handle', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sa.Enum('online', 'away', 'offline', name='agentstatus'), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('os_user', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=35), nullable=True),
    sa.Column('created_at', core.models.UTCDateTime(), nullable=False),
    sa.Column('status_changed_at', core.models.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('handle'),
    sa.UniqueConstraint('os_user')
    )
    op.create_table('enduser',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('email_verified', sa.Boolean(), nullable=False),
    sa.Column('email_failing', sa.Boolean(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=35), nullable=True),
    sa.Column('language_set_by_agent', sa.Boolean(), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('blocked', sa.Boolean(), nullable=False),
    sa.Column('created_at', core.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('public_id')
    )
    with op.batch_alter_table('enduser', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enduser_email'), ['email'], unique=False)

    op.create_table('mailbox_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('last_uid', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', core.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mailbox')
    )
    op.create_table('sender_window',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('window_start', core.models.UTCDateTime(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('limited_until', core.models.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sender')
    )
    op.create_table('setting',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.Column('updated_at', core.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('trigger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('conditions', sa.JSON(), nullable=False),
    sa.Column('actions', sa.JSON(), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('created_at', core.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('conversation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('end_user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'open', 'pending', 'solved', name='conversationstatus'), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=35), nullable=True),
    sa.Column('channel', sa.Enum('messaging', 'email', 'api', name='channel'), nullable=False),
    sa.Column('created_at', core.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.models.UTCDateTime(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('last_message_at', core.models.UTCDateTime(), nullable=True),
    sa.Column('last_message_channel', sa.Enum('messaging', 'email', 'api', name='channel'), nullable=True),
    sa.Column('waiting_since', core.models.UTCDateTime(), nullable=True),
    sa.Column('end_user_read_seq', sa.Integer(), nullable=False),
    sa.Column('agent_read_seq', sa.Integer(), nullable=False),
    sa.Column('notified_seq', sa.Integer(), nullable=False),
    sa.Column('notify_due_at', core.models.UTCDateTime(), nullable=True),
    sa.Column('end_user_last_seen_at', core.models.UTCDateTime(), nullable=True),
    sa.Column('end_user_present', sa.Boolean(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['end_user_id'], ['enduser.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('public_id')
    )
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversation_end_user_id'), ['end_user_id'], unique=False)
        batch_op.create_index('ix_conversation_listing_assignee', ['assignee_id', 'status', 'waiting_since'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversation_notify_due_at'), ['notify_due_at'], unique=False)
        batch_op.create_index('ix_conversation_updated_order', ['updated_at', 'id'], unique=False)
        batch_op.create_index('ix_conversation_wait_order', ['waiting_since', 'id'], unique=False)
        batch_op.create_index('ix_conversation_waiting', ['status', 'waiting_since'], unique=False)

    op.create_table('emailtemplateoverride',
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=35), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('updated_at', core.models.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by'], ['agent.id'], ),
    sa.PrimaryKeyConstraint('language')
    )
    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', core.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_conversation_id'), ['conversation_id'], unique=False)

    op.create_table('message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('author_kind', sa.Enum('end_user', 'agent', 'system', name='authorkind'), nullable=False),
    sa.Column('author_agent_id', sa.Integer(), nullable=True),
    sa.Column('author_end_user_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('channel', sa.Enum('messaging', 'email', 'api', name='channel'), nullable=False),
    sa.Column('created_at', core.models.UTCDateTime(), nullable=False),
    sa.Column('email_message_id', sqlmodel.sql.sqltypes.AutoString(length=998), nullable=True),
    sa.Column('email_fallback', sa.Boolean(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['author_agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['author_end_user_id'], ['enduser.id'], ),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id', 'seq', name='uq_message_conversation_seq'),
    sa.UniqueConstraint('email_message_id')
    )
    op.create_table('outboxjob',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('first_seq', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('to_address', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=35), nullable=True),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=998), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', 'bounced', name='outboxstatus'), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', core.models.UTCDateTime(), nullable=False),
    sa.Column('locked_until', core.models.UTCDateTime(), nullable=True),
    sa.Column('locked_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', core.models.UTCDateTime(), nullable=False),
    sa.Column('sent_at', core.models.UTCDateTime(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('outboxjob', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outboxjob_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index('ix_outboxjob_ready', ['status', 'next_attempt_at'], unique=False)

    op.create_table('inbound_email',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=998), nullable=False),
    sa.Column('mailbox', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=False),
    sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('sender_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=998), nullable=False),
    sa.Column('outcome', sa.Enum('posted', 'duplicate', 'held', 'refused', 'new_conversation', 'bounce', 'auto_reply', name='inboundoutcome'), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('posted_message_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('original_text', sa.Text(), nullable=False),
    sa.Column('attachments', sa.Text(), nullable=False),
    sa.Column('raw_source', sa.LargeBinary(), nullable=True),
    sa.Column('received_at', core.models.UTCDateTime(), nullable=False),
    sa.Column('held_status', sa.Enum('pending', 'accepted', 'rejected', name='heldstatus'), nullable=True),
    sa.Column('decided_by_agent_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', core.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.ForeignKeyConstraint(['decided_by_agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['posted_message_id'], ['message.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('inbound_email', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_email_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_email_held_status'), ['held_status'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_email_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_email_outcome'), ['outcome'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_email_received_at'), ['received_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('inbound_email', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_email_received_at'))
        batch_op.drop_index(batch_op.f('ix_inbound_email_outcome'))
        batch_op.drop_index(batch_op.f('ix_inbound_email_message_id'))
        batch_op.drop_index(batch_op.f('ix_inbound_email_held_status'))
        batch_op.drop_index(batch_op.f('ix_inbound_email_conversation_id'))

    op.drop_table('inbound_email')
    with op.batch_alter_table('outboxjob', schema=None) as batch_op:
        batch_op.drop_index('ix_outboxjob_ready')
        batch_op.drop_index(batch_op.f('ix_outboxjob_conversation_id'))

    op.drop_table('outboxjob')
    op.drop_table('message')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_conversation_id'))

    op.drop_table('event')
    op.drop_table('emailtemplateoverride')
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_waiting')
        batch_op.drop_index('ix_conversation_wait_order')
        batch_op.drop_index('ix_conversation_updated_order')
        batch_op.drop_index(batch_op.f('ix_conversation_notify_due_at'))
        batch_op.drop_index('ix_conversation_listing_assignee')
        batch_op.drop_index(batch_op.f('ix_conversation_end_user_id'))
        batch_op.drop_index(batch_op.f('ix_conversation_assignee_id'))

    op.drop_table('conversation')
    op.drop_table('trigger')
    op.drop_table('setting')
    op.drop_table('sender_window')
    op.drop_table('mailbox_state')
    with op.batch_alter_table('enduser', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enduser_email'))

    op.drop_table('enduser')
    op.drop_table('agent')
    # PostgreSQL keeps enum types after their tables are gone; drop them so an upgrade can run again.
    for enum_name in ("agentstatus", "authorkind", "channel", "conversationstatus", "heldstatus",
                      "inboundoutcome", "outboxstatus"):
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=True)

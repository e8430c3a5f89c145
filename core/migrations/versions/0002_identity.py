"""Email identity: proven addresses, spent single-use credentials, per-conversation notification address,
external ids and session revocation for end users, and the per-address daily cap's key on outbox jobs.

Revision ID: 0002_identity
Revises: 0001
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
import core.models


revision = '0002_identity'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('enduser', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('sessions_valid_after', core.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint('uq_enduser_external_id', ['external_id'])
        batch_op.create_foreign_key('fk_enduser_merged_into_id', 'enduser', ['merged_into_id'], ['id'])
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True))
    with op.batch_alter_table('outboxjob', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address_key', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False,
                                      server_default=''))
        batch_op.create_index('ix_outboxjob_address_key', ['address_key', 'created_at'], unique=False)
    with op.batch_alter_table('outboxjob', schema=None) as batch_op:
        batch_op.alter_column('address_key', server_default=None)
    op.create_table('verified_address',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('end_user_id', sa.Integer(), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('verified_at', core.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['end_user_id'], ['enduser.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('end_user_id', 'address', name='uq_verified_address_end_user')
    )
    with op.batch_alter_table('verified_address', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verified_address_address'), ['address'], unique=False)
        batch_op.create_index(batch_op.f('ix_verified_address_end_user_id'), ['end_user_id'], unique=False)
    op.create_table('spent_token',
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('end_user_id', sa.Integer(), nullable=True),
    sa.Column('expires_at', core.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['end_user_id'], ['enduser.id'], ),
    sa.PrimaryKeyConstraint('digest')
    )
    with op.batch_alter_table('spent_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spent_token_expires_at'), ['expires_at'], unique=False)

    # Existing proofs become rows; existing conversations keep emailing their end user's address.
    op.execute("INSERT INTO verified_address (end_user_id, address, method, verified_at) "
               "SELECT id, email, 'identify', created_at FROM enduser WHERE email_verified AND email IS NOT NULL")
    op.execute("UPDATE conversation SET notify_email = "
               "(SELECT email FROM enduser WHERE enduser.id = conversation.end_user_id)")
    op.execute("UPDATE outboxjob SET address_key = lower(to_address)")


def downgrade() -> None:
    with op.batch_alter_table('spent_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spent_token_expires_at'))
    op.drop_table('spent_token')
    with op.batch_alter_table('verified_address', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verified_address_end_user_id'))
        batch_op.drop_index(batch_op.f('ix_verified_address_address'))
    op.drop_table('verified_address')
    with op.batch_alter_table('outboxjob', schema=None) as batch_op:
        batch_op.drop_index('ix_outboxjob_address_key')
        batch_op.drop_column('address_key')
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_column('notify_email')
    with op.batch_alter_table('enduser', schema=None) as batch_op:
        batch_op.drop_constraint('fk_enduser_merged_into_id', type_='foreignkey')
        batch_op.drop_constraint('uq_enduser_external_id', type_='unique')
        batch_op.drop_column('merged_into_id')
        batch_op.drop_column('sessions_valid_after')
        batch_op.drop_column('external_id')

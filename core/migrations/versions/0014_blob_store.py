"""Attachment bytes may live outside the database: attachment_blob.store names where, and content may be NULL.

Revision ID: 0014_blob_store
Revises: 0012_typing_index
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes


revision = '0014_blob_store'
down_revision = '0012_typing_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every file stored so far is in the database: the server default says so for the existing rows.
    with op.batch_alter_table('attachment_blob', schema=None) as batch_op:
        batch_op.add_column(sa.Column('store', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='database'))
        batch_op.alter_column('content', existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    # Only possible while every file's bytes are still in the database.
    bind = op.get_bind()
    outside = bind.execute(sa.text("SELECT count(*) FROM attachment_blob WHERE store <> 'database'")).scalar()
    if outside:
        raise RuntimeError(f"{outside} attachment files are stored outside the database (attachment_blob.store); "
                           "copy their bytes into attachment_blob.content before downgrading")
    with op.batch_alter_table('attachment_blob', schema=None) as batch_op:
        batch_op.alter_column('content', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('store')

"""Inbound recovery: an agent's decision on any email that was not posted (issue 12).

Revision ID: 0004_inbound_recovery
Revises: 0002_identity
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_inbound_recovery'
down_revision = '0002_identity'
branch_labels = None
depends_on = None

decision = sa.Enum('posted', 'discarded', name='inbounddecision')


def upgrade() -> None:
    # PostgreSQL needs the enum type before a column can use it; add_column does not create it.
    decision.create(op.get_bind(), checkfirst=True)
    with op.batch_alter_table('inbound_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision', decision, nullable=True))
        batch_op.create_index(batch_op.f('ix_inbound_email_decision'), ['decision'], unique=False)
    # Held emails decided before this revision keep their decision, so they do not come back on the Mail screen.
    op.execute("UPDATE inbound_email SET decision = 'posted' WHERE held_status = 'accepted'")
    op.execute("UPDATE inbound_email SET decision = 'discarded' WHERE held_status = 'rejected'")


def downgrade() -> None:
    with op.batch_alter_table('inbound_email', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_email_decision'))
        batch_op.drop_column('decision')
    decision.drop(op.get_bind(), checkfirst=True)

"""Help center: articles, and their full-text index (FTS5 on SQLite, a generated tsvector on PostgreSQL).

Revision ID: 0011_articles
Revises: 0013_ratings
Create Date: 2026-12-04
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import core.models
from core.article_index import create_article_index, drop_article_index

revision = '0011_articles'
down_revision = '0013_ratings'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('article',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('slug', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=35), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('created_at', core.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('language', 'slug', name='uq_article_language_slug')
    )
    with op.batch_alter_table('article', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_article_language'), ['language'], unique=False)
    # Not a model: the search index lives beside the table (see core/article_index.py).
    create_article_index(op.get_bind())


def downgrade() -> None:
    drop_article_index(op.get_bind())
    with op.batch_alter_table('article', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_article_language'))
    op.drop_table('article')

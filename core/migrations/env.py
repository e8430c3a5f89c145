"""Alembic environment: runs migrations on the engine handed over by core.schema."""
from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import core.tables  # noqa: F401  registers every table on SQLModel.metadata
from core.article_index import is_model_schema_object
from core.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            # The article search index is not a model: autogenerate must neither drop nor re-create it.
            include_name=is_model_schema_object,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()

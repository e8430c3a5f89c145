"""Alembic environment: runs migrations on the engine handed over by core.schema."""
from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
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
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild a SQLite table (copy, DROP, rename); with foreign keys enforced, dropping a
            # table other rows point at fails (or would cascade), so any database holding data could not upgrade.
            # The pragma only works outside a transaction, hence on the driver's connection before SQLAlchemy
            # begins one; the keys are checked once the migrations are done, and enforced again for the pool.
            _sqlite_foreign_keys(connection, on=False)
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
                compare_type=True,
                # The article search index is not a model: autogenerate must neither drop nor re-create it.
                include_name=is_model_schema_object,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migrated database breaks foreign keys: {broken[:5]}")
            connection.commit()
        finally:
            if sqlite:
                connection.rollback()
                _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    driver = connection.connection.driver_connection
    if driver is not None:
        driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


run_migrations_online()

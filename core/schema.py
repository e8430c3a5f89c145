"""Creating and upgrading the database schema with Alembic, so releases never lose data."""
from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from core.package_data import package_folder

MIGRATIONS_DIR = package_folder("core", "migrations")


def alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Create the schema, or bring an older one up to the newest revision."""
    command.upgrade(alembic_config(engine), "head")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def pending_revisions(engine: Engine) -> list[str]:
    """The revisions `threadline init` would apply, oldest first."""
    scripts = ScriptDirectory.from_config(alembic_config(engine))
    current = current_revision(engine)
    pending = list(scripts.iterate_revisions("heads", current or "base"))
    pending.reverse()  # iterate_revisions walks down from the head
    return [script.revision for script in pending if script.revision != current]


def known_revisions() -> list[str]:
    """Every revision this version's migrations know, oldest first."""
    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]

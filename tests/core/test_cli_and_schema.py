"""The command line from the outside (a subprocess, as a user runs it) and the migration history."""
from __future__ import annotations

import os
import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import core.tables  # noqa: F401
from core.article_index import is_model_schema_object


def run_cli(*args, data_dir, extra_env=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    env.update({"THREADLINE_GENERAL_DATA_DIR": str(data_dir), "THREADLINE_CONFIG": "", **(extra_env or {})})
    env.pop("THREADLINE_CONFIG")
    env["HOME"] = str(data_dir)  # keeps the default config path away from the real one
    return subprocess.run(
        [sys.executable, "-m", "threadline", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_help_lists_commands(tmp_path):
    result = run_cli("--help", data_dir=tmp_path)
    assert result.returncode == 0
    for command in ("init", "doctor"):
        assert command in result.stdout


def test_init_then_doctor(tmp_path):
    first = run_cli("init", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Created database" in first.stdout
    again = run_cli("init", data_dir=tmp_path)
    assert "up to date" in again.stdout
    doctor = run_cli("doctor", data_dir=tmp_path, extra_env={"THREADLINE_SMTP_PASSWORD": "hunter2"})
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "hunter2" not in doctor.stdout and "****" in doctor.stdout
    assert "ok: database" in doctor.stdout


def test_doctor_reports_uninitialised_database(tmp_path):
    result = run_cli("doctor", data_dir=tmp_path)
    assert result.returncode == 1
    assert "run: threadline init" in result.stdout


def test_bad_configuration_is_one_line_without_traceback(tmp_path):
    result = run_cli("doctor", data_dir=tmp_path, extra_env={"THREADLINE_SMTP_PORT": "many"})
    assert result.returncode == 1
    assert "THREADLINE_SMTP_PORT" in result.stderr and "Traceback" not in result.stderr


def test_migrations_match_the_models(db):
    with db.engine.connect() as connection:
        # The article search index (FTS5 table, tsvector column) is no model: left out explicitly, by name.
        context = MigrationContext.configure(connection, opts={"include_name": is_model_schema_object})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_article_search_index_exists_after_migration(db):
    from sqlalchemy import inspect

    inspector = inspect(db.engine)
    if db.engine.dialect.name == "postgresql":
        assert "search_vector" in {column["name"] for column in inspector.get_columns("article")}
    else:
        assert "article_fts" in inspector.get_table_names()


def test_schema_downgrades_and_upgrades_again(db):
    from alembic import command

    from core import schema

    config = schema.alembic_config(db.engine)
    command.downgrade(config, "base")
    assert schema.current_revision(db.engine) is None
    schema.upgrade(db.engine)
    assert schema.current_revision(db.engine) == schema.head_revision(db.engine)


def test_upgrade_keeps_existing_data(db, clock):
    from core import schema
    from core.conversations import ConversationService

    with db.session() as session:
        service = ConversationService(session, clock)
        conversation = service.start_conversation(service.create_end_user("Eve").id)
        service.post_end_user_message(conversation.id, "still here")
    schema.upgrade(db.engine)  # running init again on a current database is a no-op
    with db.read_session() as session:
        assert [m.body for m in ConversationService(session, clock).transcript(conversation.id)] == ["still here"]


def test_commands_that_do_not_need_the_console_or_the_server_do_not_load_them():
    """Every command module is imported to build the parser; the console (Textual), the server's parts and the mail
    DNS checks are imported only inside the commands that use them (each start-up of `threadline` paid ~0.4 s)."""
    probe = ("import sys; from threadline.cli import build_parser; build_parser(); "
             "print(sorted(m for m in ('tui.app', 'textual.app', 'threadline.parts', 'widget.app', 'mail.dns_checks') "
             "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

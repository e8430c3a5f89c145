"""`threadline doctor` checks the database itself: reachable, not damaged (SQLite's quick_check), schema at the head;
each failure is one line with the reason and the fix, and exit code 1."""
from __future__ import annotations

import pytest

from core import schema
from core.conversations import ConversationService
from core.db import Database
from tests.core.test_cli_and_schema import run_cli
from tests.fixtures.database_faults import damaged_copy
from threadline import __version__

sqlite_only = pytest.mark.sqlite_only(reason="SQLite's pages and quick_check; PostgreSQL has neither")


def doctor(database_url: str, tmp_path):
    return run_cli("doctor", data_dir=tmp_path, extra_env={"THREADLINE_DATABASE_URL": database_url})


def database_lines(result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(("ok:", "FAIL:"))]


def with_messages(db: Database, clock) -> None:
    with db.session() as session:
        service = ConversationService(session, clock)
        conversation_id = service.start_conversation(service.create_end_user("Eve").id).id
        for n in range(30):
            service.post_end_user_message(conversation_id, f"message {n} " + "x" * 300)


def test_a_database_behind_the_newest_schema_fails_then_once_migrated_passes_every_check(database_url, clock, tmp_path):
    database = Database(database_url)  # reachable, nothing migrated yet (PostgreSQL: Alembic has no revision)
    try:
        result = doctor(database_url, tmp_path)
        assert result.returncode == 1
        head = schema.head_revision(database.engine)
        assert database_lines(result)[-1] == f"FAIL: schema is at revision none (an empty database), the newest " \
            f"is {head}; pending migrations: 0001, 0002_identity, " \
            f"{', '.join(schema.pending_revisions(database.engine)[2:])}; run: threadline init"
        assert schema.pending_revisions(database.engine)[-1] == head
        schema.upgrade(database.engine)
        with_messages(database, clock)
    finally:
        database.dispose()
    result = doctor(database_url, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = database_lines(result)
    assert all(line.startswith("ok:") for line in lines) and lines[-1].startswith("ok: schema is at the newest")
    assert result.stdout.splitlines()[0] == f"Threadline version: {__version__}"
    if database.engine.dialect.name == "sqlite":
        assert "ok: database passes SQLite's quick_check" in lines


@sqlite_only
def test_a_damaged_table_fails_with_one_line_and_the_fix(db, clock, tmp_path):
    with_messages(db, clock)
    result = doctor(damaged_copy(db.url, tmp_path, "message"), tmp_path)
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    failure = database_lines(result)[-1]
    assert failure.startswith("FAIL: database ") and "damaged" in failure
    assert failure.endswith("restore the database from a backup")


@sqlite_only
def test_a_damaged_index_is_reported_with_what_quick_check_found(db, clock, tmp_path):
    with_messages(db, clock)
    result = doctor(damaged_copy(db.url, tmp_path, "sqlite_autoindex_message_1"), tmp_path)
    assert result.returncode == 1, result.stdout
    failure = database_lines(result)[-1]
    assert failure.startswith("FAIL: database ") and "is damaged (quick_check: " in failure and "Page " in failure
    assert failure.endswith("stop Threadline and restore the database from a backup")


@sqlite_only
def test_an_unreachable_database_names_the_setting_to_check(tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    result = doctor(f"sqlite:///{folder}", tmp_path)  # a folder, not a database file
    assert result.returncode == 1
    [failure] = database_lines(result)
    assert failure.startswith("FAIL: database ") and "is not reachable" in failure
    assert failure.endswith("check database.url and that the database server runs")
    assert "Traceback" not in result.stderr


def test_a_database_one_migration_behind_lists_just_that_migration(database_url, tmp_path):
    database = Database(database_url)
    try:
        head = schema.head_revision(database.engine)
        scripts = schema.ScriptDirectory.from_config(schema.alembic_config(database.engine))
        previous = scripts.get_revision(head).down_revision
        schema.command.upgrade(schema.alembic_config(database.engine), previous)
        assert schema.pending_revisions(database.engine) == [head]
    finally:
        database.dispose()
    result = doctor(database_url, tmp_path)
    assert result.returncode == 1
    assert database_lines(result)[-1] == f"FAIL: schema is at revision {previous}, the newest is {head}; " \
        f"pending migrations: {head}; run: threadline init"

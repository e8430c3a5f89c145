"""`threadline backup` and `threadline restore` from the outside: a consistent online copy while a writer commits,
put back with the token secret; a backup of an unknown schema, and PostgreSQL, are refused with the way out."""
from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from core import schema
from core.clock import SystemClock
from core.conversations import ConversationService
from core.db import Database
from tests.core.test_cli_and_schema import run_cli

pytestmark = pytest.mark.sqlite_only(reason="backup and restore copy SQLite files; PostgreSQL uses pg_dump")


class Writer(threading.Thread):
    """Posts messages in a loop, one transaction each, and records each id once its commit returned."""

    def __init__(self, database_url: str) -> None:
        super().__init__(daemon=True)
        self.database = Database(database_url)
        self.committed: list[int] = []
        self.stop = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            with self.database.session() as session:
                service = ConversationService(session, SystemClock())
                conversation_id = service.start_conversation(service.create_end_user("Writer").id).id
            n = 0
            while not self.stop.is_set():
                with self.database.session() as session:
                    message = ConversationService(session, SystemClock()).post_end_user_message(
                        conversation_id, f"message {n} " + "x" * 500)
                    message_id = message.id
                self.committed.append(int(message_id or 0))
                n += 1
        except BaseException as exc:  # noqa: BLE001 - handed to the test, which fails with it
            self.failure = exc
        finally:
            self.database.dispose()


def message_ids(path: Path) -> list[int]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT id FROM message ORDER BY id")]


def test_a_backup_taken_while_a_writer_commits_restores_whole_with_every_message_committed_before_it(tmp_path):
    live, restored = tmp_path / "live", tmp_path / "restored"
    assert run_cli("init", data_dir=live).returncode == 0
    writer = Writer(f"sqlite:///{live / 'threadline.db'}")
    writer.start()
    try:
        while len(writer.committed) < 50 and writer.failure is None:
            writer.join(0.01)
        committed_before = list(writer.committed)
        backup = run_cli("backup", str(tmp_path / "backup"), data_dir=live)
        committed_during = len(writer.committed) - len(committed_before)
    finally:
        writer.stop.set()
        writer.join(30)
    assert writer.failure is None, writer.failure
    assert backup.returncode == 0, backup.stderr
    assert committed_during > 0, "the writer was not writing while the backup ran"
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["schema_revision"] == schema.known_revisions()[-1] and manifest["secret_key"] == "secret.key"
    assert oct((tmp_path / "backup" / "threadline.db").stat().st_mode & 0o777) == "0o600"

    result = run_cli("restore", str(tmp_path / "backup"), data_dir=restored)
    assert result.returncode == 0, result.stderr
    database = restored / "threadline.db"
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    copied = message_ids(database)
    # A snapshot: every message committed before the backup began, then a gapless run of the ones that followed.
    assert copied[:len(committed_before)] == committed_before
    assert copied == writer.committed[:len(copied)]
    assert (restored / "secret.key").read_text() == (live / "secret.key").read_text()
    assert run_cli("doctor", data_dir=restored).returncode == 0


def test_restore_keeps_the_database_it_replaces_and_serves_the_restored_one(tmp_path):
    data = tmp_path / "data"
    assert run_cli("init", data_dir=data).returncode == 0
    assert run_cli("agent", "add", "before", "--name", "Before", data_dir=data).returncode == 0
    assert run_cli("backup", str(tmp_path / "backup"), data_dir=data).returncode == 0
    assert run_cli("agent", "add", "after", "--name", "After", data_dir=data).returncode == 0

    result = run_cli("restore", str(tmp_path / "backup"), data_dir=data)
    assert result.returncode == 0, result.stderr
    agents = run_cli("agent", "list", data_dir=data).stdout
    assert "before" in agents and "after" not in agents
    [kept] = data.glob("threadline.db.before-restore-*")
    with sqlite3.connect(kept) as connection:
        assert {row[0] for row in connection.execute("SELECT handle FROM agent")} == {"before", "after"}


def test_a_backup_with_a_schema_this_version_does_not_know_is_refused(tmp_path):
    data = tmp_path / "data"
    assert run_cli("init", data_dir=data).returncode == 0
    assert run_cli("backup", str(tmp_path / "backup"), data_dir=data).returncode == 0
    with sqlite3.connect(tmp_path / "backup" / "threadline.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    before = (data / "threadline.db").read_bytes()

    result = run_cli("restore", str(tmp_path / "backup"), data_dir=data)
    assert result.returncode == 1
    assert "schema version 0099_from_the_future is unknown" in result.stderr
    assert result.stderr.strip().endswith("restore it with the Threadline version that made it")
    assert (data / "threadline.db").read_bytes() == before


def test_backup_refuses_a_folder_in_use_and_a_folder_that_is_no_backup(tmp_path):
    data = tmp_path / "data"
    assert run_cli("init", data_dir=data).returncode == 0
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep")
    refused = run_cli("backup", str(tmp_path / "full"), data_dir=data)
    assert refused.returncode == 1 and "is not an empty folder" in refused.stderr
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["mine.txt"]
    not_backup = run_cli("restore", str(tmp_path / "full"), data_dir=data)
    assert not_backup.returncode == 1 and "is not a Threadline backup" in not_backup.stderr


def test_postgresql_is_refused_with_the_pg_dump_commands(tmp_path):
    url = "postgresql+psycopg://threadline@127.0.0.1:1/threadline"  # never connected to: refused from the URL
    for command in ("backup", "restore"):
        result = run_cli(command, str(tmp_path / "backup"), data_dir=tmp_path,
                         extra_env={"THREADLINE_DATABASE_URL": url})
        assert result.returncode == 1
        assert "pg_dump --format=custom" in result.stderr and "pg_restore" in result.stderr
    assert not (tmp_path / "backup").exists()

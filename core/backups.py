"""Backups of a SQLite database and its token secret, made and restored with SQLite's online backup API."""
from __future__ import annotations

import json
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.errors import ThreadlineError
from core.i18n import _
from core.private_files import make_private_dir, write_private_file

MANIFEST = "manifest.json"
DATABASE_FILE = "threadline.db"
KEY_FILE = "secret.key"
FORMAT = 1


class BackupRefused(ThreadlineError):
    code = "backup_refused"


@dataclass(frozen=True)
class BackupManifest:
    """What a backup folder holds, written beside the copy as manifest.json."""

    created_at: str
    threadline_version: str
    schema_revision: str | None
    secret_key: bool  # whether secret.key is in the folder (False: the secret is set in the configuration)

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "created_at": self.created_at,
                           "threadline_version": self.threadline_version, "schema_revision": self.schema_revision,
                           "database": DATABASE_FILE, "secret_key": KEY_FILE if self.secret_key else None},
                          indent=2) + "\n"


@dataclass(frozen=True)
class RestoreResult:
    database: Path
    schema_revision: str | None
    previous_database: Path | None  # the database that was replaced, kept under this name
    secret_key_restored: bool


def postgresql_pointer() -> str:
    return _("threadline backup and restore handle SQLite databases; back up PostgreSQL with its own tools: "
             "pg_dump --format=custom --file=threadline.dump DATABASE_URL, and restore with: "
             "pg_restore --clean --if-exists --dbname=DATABASE_URL threadline.dump (README: Backups)")


def sqlite_file(database_url: str) -> Path:
    """The SQLite database file of database_url; any other database is refused with the pg_dump pointer."""
    try:
        url = make_url(database_url)
    except (ArgumentError, ValueError) as exc:
        raise BackupRefused(_("database.url {url} is not a database URL; fix database.url").format(
            url=database_url)) from exc
    if url.get_backend_name() != "sqlite":
        raise BackupRefused(postgresql_pointer())
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupRefused(_("database.url {url} names no database file to back up; set database.url to "
                              "sqlite:///PATH").format(url=database_url))
    return Path(url.database).expanduser()


def schema_revision_of(path: Path) -> str | None:
    """The Alembic revision stored in a SQLite file (None: no schema yet)."""
    with closing(sqlite3.connect(path)) as connection:
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:  # no such table: never migrated
            return None
    return str(row[0]) if row else None


def integrity_problems(path: Path) -> list[str]:
    """PRAGMA integrity_check of a SQLite file: [] when it answers ok."""
    with closing(sqlite3.connect(path)) as connection:
        rows = [str(row[0]) for row in connection.execute("PRAGMA integrity_check")]
    return [] if rows == ["ok"] else rows


def make_backup(database_url: str, secret_key_file: Path, target: Path, *, version: str,
                now: datetime) -> BackupManifest:
    """Copy the database (consistent, while other processes keep writing) and secret.key into the folder target.

    The copy is one step of SQLite's backup API: one read transaction, so in WAL mode writers go on meanwhile and
    the copy is the database as of that transaction's start; a copy in several steps would restart whenever another
    connection writes. It goes to a temporary name and is checked (integrity_check) before it is named as done.
    """
    source = sqlite_file(database_url)
    if not source.is_file():
        raise BackupRefused(_("there is no database at {path} to back up; check database.url and "
                              "general.data_dir").format(path=source))
    target = Path(target).expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupRefused(_("{path} already exists and is not an empty folder; name a new folder for the "
                              "backup").format(path=target))
    make_private_dir(target)
    partial = Path(tempfile.mkstemp(prefix=".threadline-", suffix=".db.partial", dir=target)[1])
    try:
        with closing(sqlite3.connect(source)) as reader, \
                closing(sqlite3.connect(partial)) as writer:
            reader.backup(writer, pages=-1)
        problems = integrity_problems(partial)
        if problems:
            raise BackupRefused(_("the copy of {path} fails SQLite's integrity_check ({problems}); run "
                                  "threadline doctor on the database").format(path=source,
                                                                              problems="; ".join(problems[:3])))
        partial.replace(target / DATABASE_FILE)
    finally:
        partial.unlink(missing_ok=True)
    has_secret = secret_key_file.is_file()
    if has_secret:
        write_private_file(target / KEY_FILE, secret_key_file.read_text())
    manifest = BackupManifest(created_at=now.isoformat(), threadline_version=version,
                              schema_revision=schema_revision_of(target / DATABASE_FILE), secret_key=has_secret)
    write_private_file(target / MANIFEST, manifest.to_json())
    return manifest


def restore_backup(backup: Path, database_url: str, secret_key_file: Path, *, known_revisions: list[str],
                   restore_secret: bool, now: datetime) -> RestoreResult:
    """Put a backup back into the configured database file, after checking the copy and its schema version.

    The copy goes in through the backup API as well, written into the database by SQLite itself: a stale -wal file
    can never be replayed over it, as it could be over a file copied into place. The database it replaces is kept
    beside it as `<name>.before-restore-<time>`. Stop `serve` and the consoles first: they keep their caches.
    """
    target = sqlite_file(database_url)
    backup = Path(backup).expanduser()
    copy = backup / DATABASE_FILE
    if not (backup / MANIFEST).is_file() or not copy.is_file():
        raise BackupRefused(_("{path} is not a Threadline backup (no {manifest} and {database}); name a folder "
                              "made by threadline backup").format(path=backup, manifest=MANIFEST,
                                                                   database=DATABASE_FILE))
    problems = integrity_problems(copy)
    if problems:
        raise BackupRefused(_("the backup {path} is damaged (integrity_check: {problems}); restore another "
                              "backup").format(path=copy, problems="; ".join(problems[:3])))
    revision = schema_revision_of(copy)
    if revision is None or revision not in known_revisions:
        raise BackupRefused(_("the backup's schema version {revision} is unknown to this Threadline (it knows "
                              "{known}); restore it with the Threadline version that made it").format(
                                  revision=revision, known=", ".join(known_revisions)))
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    previous = None
    make_private_dir(target.parent)
    if target.exists():
        previous = target.with_name(f"{target.name}.before-restore-{stamp}")
        with closing(sqlite3.connect(target)) as current, \
                closing(sqlite3.connect(previous)) as kept:
            current.backup(kept, pages=-1)
    with closing(sqlite3.connect(copy)) as source, \
            closing(sqlite3.connect(target)) as destination:
        source.backup(destination, pages=-1)
    restored_secret = False
    if restore_secret and (backup / KEY_FILE).is_file():
        secret = (backup / KEY_FILE).read_text()
        if secret_key_file.is_file() and secret_key_file.read_text() != secret:
            write_private_file(secret_key_file.with_name(f"{secret_key_file.name}.before-restore-{stamp}"),
                               secret_key_file.read_text())
        make_private_dir(secret_key_file.parent)
        write_private_file(secret_key_file, secret)
        restored_secret = True
    return RestoreResult(database=target, schema_revision=revision, previous_database=previous,
                         secret_key_restored=restored_secret)

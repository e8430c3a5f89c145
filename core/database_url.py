"""Checking database.url before anything connects: a bad URL, a missing driver or folder is one ConfigError naming the
fix."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from core.errors import ConfigError
from core.i18n import _
from core.masking import mask_url_passwords

SUPPORTED_FORMS = "sqlite:///PATH/threadline.db, postgresql+psycopg://USER@HOST/DBNAME"
POSTGRES_EXTRA = "pip install 'threadline[postgres]'"


def check_database_url(url: str, data_dir: Path | None = None) -> None:
    """Raise ConfigError unless url names a supported database whose driver imports and, for a SQLite file, whose
    folder exists and can be written. The data folder (data_dir) may be missing: it is created on first use, while
    any other missing folder is more likely a typo than a wish, so it is refused rather than created."""
    shown = mask_url_passwords(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(_("database.url {url!r} is not a database URL; use one of: {forms}").format(
            url=shown, forms=SUPPORTED_FORMS)) from None
    backend = parsed.get_backend_name()
    if backend == "postgres":
        raise ConfigError(_("database.url {url!r}: write postgresql+psycopg:// instead of postgres:// (SQLAlchemy "
                            "knows PostgreSQL only by its full name)").format(url=shown))
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(_("database.url {url!r}: Threadline does not support the database {name!r}; it supports "
                            "SQLite and PostgreSQL: {forms}").format(url=shown, name=backend, forms=SUPPORTED_FORMS))
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        raise ConfigError(_("database.url {url!r}: unknown driver {driver!r}; use one of: {forms}").format(
            url=shown, driver=parsed.get_driver_name(), forms=SUPPORTED_FORMS)) from None
    try:
        dialect.import_dbapi()
    except ImportError:
        driver = parsed.get_driver_name()
        if backend == "postgresql" and driver == "psycopg":
            raise ConfigError(_("database.url {url!r}: the PostgreSQL driver psycopg is not installed; install it "
                                "with: {command}").format(url=shown, command=POSTGRES_EXTRA)) from None
        raise ConfigError(_("database.url {url!r}: the driver {driver!r} is not installed; use "
                            "postgresql+psycopg://USER@HOST/DBNAME and install its driver with: {command}").format(
            url=shown, driver=driver, command=POSTGRES_EXTRA)) from None
    if backend == "sqlite":
        _check_sqlite_file(parsed.database or "", data_dir)


def _check_sqlite_file(database: str, data_dir: Path | None) -> None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database).expanduser()
    folder = path.parent.resolve()
    if not folder.exists():
        if data_dir is not None and folder == Path(data_dir).expanduser().resolve():
            return  # the data folder: created with mode 0700 when the database is opened
        raise ConfigError(_("database.url: the folder {folder} does not exist; create it (mkdir -p {folder}) or "
                            "correct the path").format(folder=folder))
    if not folder.is_dir():
        raise ConfigError(_("database.url: {folder} is not a folder; correct the path").format(folder=folder))
    target = path if path.exists() else folder
    if not os.access(target, os.R_OK | os.W_OK) or not _writable(folder, path):
        raise ConfigError(_("database.url: cannot write {path}; choose a path in a folder you may write to, or fix "
                            "its permissions").format(path=path))


def _writable(folder: Path, path: Path) -> bool:
    """Whether SQLite can write here: os.access says yes to root everywhere, so for a new file try for real
    (/proc and read-only mounts refuse even root)."""
    if path.exists():
        return True
    probe = folder / f".threadline-write-check-{os.getpid()}"
    try:
        probe.touch(exist_ok=False)
    except OSError:
        return False
    probe.unlink()
    return True

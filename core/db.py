"""Database engines and sessions: SQLite tuned for many processes (WAL, foreign keys, busy timeout) or any SQLAlchemy URL."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from core.errors import ConfigError
from core.health import HealthBoard
from core.masking import mask_url_passwords
from core.private_files import create_private_file, make_private_dir

SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITE_OPTION = "threadline_write"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def is_postgresql(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how each transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes cannot wait for the write lock in WAL mode
        # (SQLITE_BUSY_SNAPSHOT), so writing sessions take it up front; reading sessions stay deferred.
        if connection.get_execution_options().get(_WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for url; a SQLite file's folder is created, and SQLite is tuned for concurrent processes."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse text
        raise ConfigError(f"database URL {mask_url_passwords(url)!r} is not valid ({mask_url_passwords(str(exc))}); "
                          "use e.g. sqlite:///path/threadline.db") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            # Conversations and addresses are nobody else's business: a new database is 0600 in a 0700 folder
            # (SQLite gives its -wal and -shm files the database's mode).
            make_private_dir(Path(database).expanduser().parent)
            create_private_file(Path(database).expanduser())
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        engine = create_engine(url, **kwargs)
        _tune_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


class Database:
    """The one meeting point of every process: hands out short-lived sessions."""

    def __init__(self, url_or_engine: str | Engine) -> None:
        self.engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        self._write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        # Every part of this process that holds the database can report trouble here; /healthz reads it.
        self.health = HealthBoard()

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def session(self) -> Session:
        """A session for work that may write; on SQLite its transactions take the write lock at BEGIN."""
        return Session(self._write_engine, expire_on_commit=False)

    def read_session(self) -> Session:
        """A session for reads only (listings, following the event log); never blocks writers."""
        return Session(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A writing session that commits on success and rolls back on any error."""
        with self.session() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()

"""Database engines and sessions: SQLite tuned for many processes (WAL, foreign keys, busy timeout) or any SQLAlchemy
URL."""
from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.engine import Connection, CursorResult, Engine, Result, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, create_engine

from core.database_faults import database_fault
from core.errors import ConfigError, DatabaseBusy
from core.health import HealthBoard
from core.i18n import _
from core.masking import mask_url_passwords
from core.private_files import create_private_file, make_private_dir

log = logging.getLogger(__name__)

# How long a connection waits for a lock it needs; writing transactions set their own, shorter wait at BEGIN.
SQLITE_BUSY_TIMEOUT_MS = 30_000
DEFAULT_WRITE_TIMEOUT = 5.0
# The execution option marking a writing session; its value is the write timeout in seconds.
_WRITE_OPTION = "threadline_write"
_WROTE = "threadline_wrote"
# A time.monotonic() deadline for the write lock, set by an edge (the widget's write slots) around a request.
_write_deadline: ContextVar[float | None] = ContextVar("threadline_write_deadline", default=None)


@contextlib.contextmanager
def write_deadline(deadline: float) -> Iterator[None]:
    """Writes begun inside (and in worker threads started inside) wait for the write lock until deadline at most."""
    token = _write_deadline.set(deadline)
    try:
        yield
    finally:
        _write_deadline.reset(token)


def _lock_wait_ms(write_timeout: float) -> int:
    """Milliseconds a writing transaction may wait for the write lock: its timeout, or less near a deadline."""
    wait = write_timeout
    deadline = _write_deadline.get()
    if deadline is not None:
        wait = min(wait, deadline - time.monotonic())
    return max(0, int(wait * 1000))


def is_postgresql(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "postgresql"


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (its result is a CursorResult, which counts them)."""
    return cast("CursorResult[Any]", result).rowcount or 0


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
        write_timeout = connection.get_execution_options().get(_WRITE_OPTION)
        if write_timeout is not None:
            # Bounded, so a lock held by another process turns into DatabaseBusy instead of a queue of stuck threads.
            connection.exec_driver_sql(f"PRAGMA busy_timeout={_lock_wait_ms(write_timeout)}")
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for url; a SQLite file's folder is created, and SQLite is tuned for concurrent processes."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # no URL shape; a bad port or IPv6 host. Both with a terse text
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


def _is_sqlite_file(url: str) -> bool:
    parsed = make_url(url)
    database = parsed.database or ""
    return parsed.get_backend_name() == "sqlite" and bool(database) and database != ":memory:" \
        and not database.startswith("file:")


class Database:
    """The one meeting point of every process: hands out short-lived sessions."""

    def __init__(self, url_or_engine: str | Engine, *, write_timeout: float = DEFAULT_WRITE_TIMEOUT,
                 pool_size: int | None = None, max_overflow: int | None = None) -> None:
        pool: dict[str, int] = {}
        if isinstance(url_or_engine, str) and not url_or_engine.startswith("sqlite"):
            # Bounded per process (database.pool_size + database.max_overflow), so N processes use a known number
            # of server connections; a thread that finds the pool empty waits (pool_timeout) rather than opening more.
            if pool_size is not None:
                pool["pool_size"] = pool_size
            if max_overflow is not None:
                pool["max_overflow"] = max_overflow
        self.engine = make_engine(url_or_engine, **pool) if isinstance(url_or_engine, str) else url_or_engine
        self.write_timeout = write_timeout
        write_options = {_WRITE_OPTION: write_timeout}
        if isinstance(url_or_engine, str) and _is_sqlite_file(url_or_engine):
            # Writers get a pool of their own: writers waiting for another process's write lock then never
            # hold the connections that reads (listings, /healthz, the live feed) need. It never makes a writer
            # wait for a connection (the lock is the one queue, bounded by write_timeout): writing threads are
            # few (the widget's write slots, the mail workers, a console's workers) and a SQLite connection is a
            # file handle.
            self.write_engine = make_engine(url_or_engine, max_overflow=-1).execution_options(**write_options)
        else:
            self.write_engine = self.engine.execution_options(**write_options)
        # Every part of this process that holds the database can report trouble here; /healthz reads it.
        self.health = HealthBoard()
        for engine in self.engines:
            event.listen(engine, "handle_error", self._on_error)
        self._write_sessions = sessionmaker(self.write_engine, class_=Session, expire_on_commit=False)
        event.listen(self._write_sessions, "after_flush", self._on_flush)
        event.listen(self._write_sessions, "do_orm_execute", self._on_orm_execute)
        event.listen(self._write_sessions, "after_commit", self._on_commit)
        event.listen(self._write_sessions, "after_rollback", self._on_rollback)

    @property
    def engines(self) -> tuple[Engine, ...]:
        """Every engine this database uses (reads, and writes when they have their own pool), for listeners."""
        return (self.engine,) if self.write_engine.pool is self.engine.pool else (self.engine, self.write_engine)

    # --- faults: a held write lock, a full disk, a damaged file ------------------------------------------------
    def _on_error(self, context: Any) -> None:
        """SQLAlchemy's handle_error: a lock wait that ran out becomes DatabaseBusy; disk and damage faults go on
        the health board (so /healthz says degraded) until a later write commits."""
        error = context.original_exception
        if _sqlite_error_name(error).startswith("SQLITE_BUSY"):
            raise database_busy(self.write_timeout) from error
        reason = database_fault(error)
        if reason is not None and self.health.degrade("database", reason):
            log.error("database degraded: %s", reason)

    def _on_flush(self, session: Session, _flush_context: Any) -> None:
        session.info[_WROTE] = True

    def _on_orm_execute(self, state: Any) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            state.session.info[_WROTE] = True

    def _on_commit(self, session: Session) -> None:
        # Only a commit that wrote proves the disk takes writes again (an empty commit writes nothing).
        if session.info.pop(_WROTE, False) and self.health.recover("database"):
            log.info("database recovered: a write committed")

    def _on_rollback(self, session: Session) -> None:
        session.info.pop(_WROTE, None)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def session(self) -> Session:
        """A session for work that may write; on SQLite its transactions take the write lock at BEGIN, waiting
        database.write_timeout at most (then DatabaseBusy)."""
        return self._write_sessions()

    def read_session(self) -> Session:
        """A session for reads only (listings, following the event log); never blocks writers."""
        return Session(self.engine, expire_on_commit=False)

    def dispose(self) -> None:
        for engine in self.engines:
            engine.dispose()


def database_busy(write_timeout: float) -> DatabaseBusy:
    """The error for a write that waited write_timeout for the lock (here, or for a free writer at an edge)."""
    return DatabaseBusy(_("The database is busy: another process holds its write lock. Nothing was changed; "
                          "try again in a few seconds."), retry_after=max(1, math.ceil(write_timeout)))


def _sqlite_error_name(error: BaseException) -> str:
    return getattr(error, "sqlite_errorname", "") or ""

"""Which process reads a mailbox: a PostgreSQL session advisory lock (or a file lock beside a SQLite database)."""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


def mailbox_key(host: str, port: int, username: str, mailbox: str) -> int:
    """A signed 64-bit advisory-lock key naming one mailbox on one server (the same in every process)."""
    digest = hashlib.sha256(f"threadline-imap-reader\0{host}\0{port}\0{username}\0{mailbox}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class ReaderLock:
    """Held by at most one process per mailbox; the holder reads it, the others stand by and try again.

    On PostgreSQL it is a session-level advisory lock on a connection of its own (never a pooled one). When the
    holder dies the server ends its session and the lock is free at once; when the holder's link dies silently,
    TCP keepalives on both ends (set from leader_timeout) end the session within about two thirds of
    leader_timeout, and still_held() tells the holder it lost the lock. On a SQLite file it is an flock() on a
    file beside the database, which the kernel frees when the process dies. Other databases (":memory:") have
    one process by definition: the lock is always granted.

    Two readers at once would only cost work, never a duplicate: filing is idempotent (core.inbound records the
    UID and Message-ID of every email in the transaction that files it). The lock keeps them from racing.
    """

    def __init__(self, engine: Engine, key: int, leader_timeout: float) -> None:
        self.engine = engine
        self.key = key
        self.leader_timeout = leader_timeout
        self.backend_pid: int | None = None
        self._connection: Any = None
        self._file: int | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None or self._file is not None

    def try_acquire(self) -> bool:
        """Take the lock if it is free (never waits); True when this process now reads the mailbox."""
        if self.held:
            return True
        name = self.engine.dialect.name
        if name == "postgresql":
            return self._try_postgresql()
        database = self.engine.url.database or ""
        if name == "sqlite" and database and database != ":memory:" and not database.startswith("file:"):
            return self._try_file(Path(database).expanduser())
        self._file = -1  # nobody else can share this database
        return True

    def still_held(self) -> bool:
        """Whether the lock is still ours (one round trip on PostgreSQL); on False it is released here."""
        if self._connection is None:
            return self._file is not None
        try:
            row = self._connection.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted "
                "AND ((classid::bigint << 32) | objid::bigint) = %s::bigint", (self.key,)).fetchone()
            if row and row[0]:
                return True
            log.warning("the IMAP reader lock is no longer held by this process")
        except Exception as exc:  # noqa: BLE001 - a lost connection means a lost lock
            log.warning("the IMAP reader lock's connection failed (%s); the lock is lost", exc)
        self.release()
        return False

    def release(self) -> None:
        connection, self._connection = self._connection, None
        self.backend_pid = None
        if connection is not None:
            with contextlib.suppress(Exception):  # closing the session releases the lock; it may be gone already
                connection.close()
        handle, self._file = self._file, None
        if handle is not None and handle >= 0:
            os.close(handle)  # closing the descriptor drops the flock

    def _try_postgresql(self) -> bool:
        idle = max(1, int(self.leader_timeout / 3))
        interval = max(1, int(self.leader_timeout / 9))
        cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
        params = {**cparams, "keepalives": 1, "keepalives_idle": idle, "keepalives_interval": interval,
                  "keepalives_count": 3, "connect_timeout": max(2, int(self.leader_timeout / 3))}
        connection = self.engine.dialect.loaded_dbapi.connect(*cargs, **params)
        try:
            connection.autocommit = True
            # The server side too: a holder whose link died must not keep the lock past leader_timeout.
            for setting, value in (("tcp_keepalives_idle", idle), ("tcp_keepalives_interval", interval),
                                   ("tcp_keepalives_count", 3)):
                connection.execute(f"SET {setting} = {int(value)}")
            row = connection.execute("SELECT pg_try_advisory_lock(%s::bigint)", (self.key,)).fetchone()
        except Exception:
            connection.close()
            raise
        if not (row and row[0]):
            connection.close()
            return False
        self._connection = connection
        self.backend_pid = connection.info.backend_pid
        return True

    def _try_file(self, database: Path) -> bool:
        path = database.with_name(f"{database.name}.imap-{self.key & 0xFFFFFFFF:08x}.lock")
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            return False
        self._file = handle
        return True

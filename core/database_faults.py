"""Which database errors mean a full disk or a damaged database, told as a reason an operator can act on."""
from __future__ import annotations

from core.i18n import _

# SQLite's primary result codes (Python's sqlite3 reports them as sqlite_errorname, extended codes included).
_SQLITE_DISK_FULL = ("SQLITE_FULL",)
_SQLITE_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
_SQLITE_IO = ("SQLITE_IOERR",)
# PostgreSQL SQLSTATEs: disk_full, io_error, data_corrupted, index_corrupted.
_PG_DISK_FULL = {"53100"}
_PG_IO = {"58030"}
_PG_DAMAGED = {"XX001", "XX002"}


def database_fault(error: BaseException) -> str | None:
    """The reason to show on /healthz when error (a DBAPI exception) means the disk is full or the data is damaged;
    None for every other error (a busy lock, a constraint, a lost connection, a bug)."""
    name = getattr(error, "sqlite_errorname", "") or ""
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None) or ""
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if name.startswith(_SQLITE_DISK_FULL) or state in _PG_DISK_FULL:
        return _("writes fail because the database's disk is full ({error}); free space on that disk and the next "
                 "write clears this").format(error=detail)
    if name.startswith(_SQLITE_DAMAGED) or state in _PG_DAMAGED:
        return _("the database is damaged ({error}); stop Threadline, run threadline doctor and restore the database "
                 "from a backup").format(error=detail)
    if name.startswith(_SQLITE_IO) or state in _PG_IO:
        return _("writes fail with a disk I/O error ({error}); check the disk that holds the database").format(
            error=detail)
    return None

"""Where attachment bytes live: in the database (the default) or in a store installed at start-up, such as S3."""
from __future__ import annotations

import logging
from typing import Any, Protocol

from sqlalchemy import bindparam, event, text
from sqlalchemy.orm import Session

from core.errors import ThreadlineError
from core.i18n import _

log = logging.getLogger(__name__)

DATABASE = "database"  # attachment_blob.store of bytes kept in attachment_blob.content
_PENDING = "threadline_blob_deletions"  # session.info key: (store name, digest) pairs to delete after the commit


class BlobStoreUnavailable(ThreadlineError):
    """The store holding a file's bytes could not be reached or does not have them (the details are logged)."""

    code = "internal_error"


class BlobStore(Protocol):
    """A content-addressed store outside the database: bytes put under their SHA-256, read and deleted by it."""

    @property
    def name(self) -> str:
        """What attachment_blob.store records for files kept here, e.g. "s3"."""
        ...

    def put(self, sha256: str, content: bytes) -> None:
        """Store content under sha256; putting the same digest again is harmless (the bytes are the same)."""
        ...

    def get(self, sha256: str) -> bytes:
        """The bytes stored under sha256, or BlobStoreUnavailable."""
        ...

    def delete(self, sha256: str) -> None:
        """Remove the bytes under sha256 (absent ones too, without error), or BlobStoreUnavailable."""
        ...


class _Registry:
    """The process-wide choice: which store new files go to (None: the database) and which stores can be read."""

    def __init__(self) -> None:
        self.writes_to: BlobStore | None = None
        self.readable: dict[str, BlobStore] = {}


_registry = _Registry()


def use_blob_store(store: BlobStore | None, *, write: bool = True) -> None:
    """Install store at start-up: it can be read from, and with write new files go to it. None: back to the
    database only (new files in attachment_blob.content, no other store readable)."""
    if store is None:
        _registry.writes_to = None
        _registry.readable.clear()
        return
    _registry.readable[store.name] = store
    if write:
        _registry.writes_to = store


def writing_store() -> BlobStore | None:
    """The store new files go to; None: the database."""
    return _registry.writes_to


def writing_store_name() -> str:
    store = _registry.writes_to
    return store.name if store is not None else DATABASE


def readable_store(name: str) -> BlobStore:
    """The installed store called name, or BlobStoreUnavailable naming the setting that installs it."""
    store = _registry.readable.get(name)
    if store is None:
        raise BlobStoreUnavailable(_(
            "This file's bytes are in the {store} store, which this process has not configured; set "
            "attachments.store and the attachments.{store}_* settings to read it.").format(store=name))
    return store


def delete_after_commit(session: Session, digests: set[str]) -> None:
    """Delete digests' bytes from every installed store once session's transaction commits, and only those whose
    attachment_blob row is still gone then (bytes the database points to are never deleted)."""
    if digests and _registry.readable:
        pending: set[tuple[str, str]] = session.info.setdefault(_PENDING, set())
        pending.update((name, digest) for name in _registry.readable for digest in digests)


@event.listens_for(Session, "after_commit")
def _delete_committed(session: Session) -> None:
    pending: set[tuple[str, str]] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    digests = sorted({digest for _name, digest in pending})
    # The session cannot run SQL once committed: a connection of its own checks which rows came back meanwhile.
    bind: Any = session.get_bind()
    engine = getattr(bind, "engine", bind)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT sha256 FROM attachment_blob WHERE sha256 IN :digests").bindparams(
            bindparam("digests", expanding=True)), {"digests": digests})
        referenced = {row[0] for row in rows}
    for name, digest in sorted(pending):
        store = _registry.readable.get(name)
        if store is None or digest in referenced:
            continue
        try:
            store.delete(digest)
        except BlobStoreUnavailable:
            # The database no longer points to them: the bytes are an orphan, not a broken file. Logged to clean up.
            log.warning("could not delete a file's bytes after erasure; delete the object by hand",
                        extra={"store": name, "sha256": digest})


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


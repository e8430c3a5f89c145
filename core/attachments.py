"""Attachments: files stored once by SHA-256 (in the database or an installed store), linked to messages,
downloaded through signed links."""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from core.blob_store import DATABASE, delete_after_commit, readable_store, writing_store
from core.clock import Clock, SystemClock
from core.conversations import ConversationService
from core.errors import NotFound, ThreadlineError
from core.file_types import clean_file_name, is_allowed, sniff_type, within_limit
from core.i18n import _
from core.models import Attachment, AttachmentBlob, AuthorKind, Conversation, Message, row_id
from core.tokens import InvalidToken, TokenSigner
from core.transactions import transactional

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_LINK_DAYS = 7


class AttachmentTooLarge(ThreadlineError):
    code = "attachment_too_large"

    def __init__(self, message: str, size: int, limit: int) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit


class AttachmentTypeNotAllowed(ThreadlineError):
    code = "attachment_type_not_allowed"


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed the limits: its cleaned name, sniffed type, size, digest and bytes."""

    name: str
    content_type: str
    size: int
    sha256: str
    content: bytes
    stored_in: str | None = None  # the store that already holds the bytes (upload_ahead), so they go up once


def upload_ahead(file: CheckedFile) -> CheckedFile:
    """Put file's bytes into the store new files go to before any transaction starts, so a write transaction (on
    SQLite: the write lock) never waits on the network; the database store needs nothing ahead."""
    store = writing_store()
    if store is None or file.stored_in == store.name:
        return file
    store.put(file.sha256, file.content)
    return dataclasses.replace(file, stored_in=store.name)


@dataclass(frozen=True)
class Download:
    """What a download sends: the attachment's name and type, and the bytes."""

    name: str
    content_type: str
    size: int
    sha256: str
    content: bytes


def too_large_error(size: int, limit: int) -> AttachmentTooLarge:
    return AttachmentTooLarge(
        _("The file is {size} bytes; the limit is {limit} bytes (attachments.max_bytes). Send a smaller file.").format(
            size=size, limit=limit), size, limit)


def check_file(name: str | None, content: bytes, max_bytes: int) -> CheckedFile:
    """content as an attachment, or AttachmentTooLarge / AttachmentTypeNotAllowed (a pure function: no database)."""
    if not within_limit(len(content), max_bytes):
        raise too_large_error(len(content), max_bytes)
    media_type = sniff_type(content)
    if media_type is None or not is_allowed(media_type):
        raise AttachmentTypeNotAllowed(_(
            "This kind of file cannot be attached. Send an image (PNG, JPEG, GIF, WebP), a PDF, a text file, an "
            "office document or a zip archive."))
    return CheckedFile(clean_file_name(name), media_type, len(content), hashlib.sha256(content).hexdigest(), content)


def attachment_json(attachment: Attachment, url: str) -> dict[str, Any]:
    """What clients see of one attachment: {id, name, type, size, sha256, url}."""
    return {"id": attachment.public_id, "name": attachment.name, "type": attachment.content_type,
            "size": attachment.size, "sha256": attachment.sha256, "url": url}


def download_path(attachment: Attachment) -> str:
    """The download address of an attachment, relative to the widget server's public URL (no credential in it)."""
    return f"/api/v1/attachments/{attachment.public_id}"


class AttachmentService:
    """Stores, lists, signs and deletes attachments over one session; writes are one transaction each."""

    def __init__(self, session: Session, clock: Clock, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 link_days: int = DEFAULT_LINK_DAYS) -> None:
        self.session = session
        self.clock = clock
        self.max_bytes = max_bytes
        self.link_lifetime = timedelta(days=link_days)

    # --- writing ---------------------------------------------------------------------------------------------
    def check(self, name: str | None, content: bytes) -> CheckedFile:
        return check_file(name, content, self.max_bytes)

    @transactional
    def attach(self, message: Message, file: CheckedFile, *, content_id: str | None = None) -> Attachment:
        """Store file's bytes (once per digest) and link it to message, uploaded by the message's author."""
        self._store_blob(file)
        attachment = Attachment(
            conversation_id=message.conversation_id, message_id=row_id(message), sha256=file.sha256,
            name=file.name, content_type=file.content_type, size=file.size, uploader_kind=message.author_kind,
            uploader_end_user_id=message.author_end_user_id, uploader_agent_id=message.author_agent_id,
            content_id=(content_id or "").strip("<> ")[:998] or None, created_at=self.clock.now())
        self.session.add(attachment)
        self.session.flush()
        return attachment

    @transactional
    def post_file(self, conversation_id: int, author_kind: AuthorKind, file: CheckedFile, *,
                  agent_id: int | None = None, text: str | None = None) -> Attachment:
        """Post a message carrying one file (its text: the given text, else the file's name), in one transaction."""
        file = upload_ahead(file)  # before post_message's first statement, when the caller opened nothing yet
        message = ConversationService(self.session, self.clock).post_message(
            conversation_id, author_kind, (text or "").strip() or file.name, agent_id=agent_id)
        return self.attach(message, file)

    def _store_blob(self, file: CheckedFile) -> None:
        store = writing_store()
        if store is not None and file.stored_in != store.name:
            # Uploaded before the transaction commits, so no row ever points to missing bytes; after a rollback the
            # object stays as an orphan (content-addressed, so harmless and reused by the next upload of the file).
            store.put(file.sha256, file.content)
        values = dict(sha256=file.sha256, size=file.size, store=DATABASE if store is None else store.name,
                      content=file.content if store is None else None, created_at=self.clock.now())
        # Insert-if-absent in one statement: two processes storing the same file at once both succeed; a file
        # already stored keeps its row (and store).
        table = AttachmentBlob.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models
        if self.session.get_bind().dialect.name == "postgresql":
            statement: Any = postgresql_insert(table).values(**values).on_conflict_do_nothing(
                index_elements=["sha256"])
        else:
            statement = sqlite_insert(table).values(**values).on_conflict_do_nothing(index_elements=["sha256"])
        self.session.execute(statement)

    # --- reading ---------------------------------------------------------------------------------------------
    def of_messages(self, message_ids: list[int]) -> dict[int, list[Attachment]]:
        """Each message's attachments, in the order they were attached."""
        found: dict[int, list[Attachment]] = {}
        if not message_ids:
            return found
        query = select(Attachment).where(col(Attachment.message_id).in_(message_ids)).order_by(col(Attachment.id))
        for attachment in self.session.exec(query):
            if attachment.message_id is not None:
                found.setdefault(attachment.message_id, []).append(attachment)
        return found

    def by_public_id(self, public_id: str) -> Attachment:
        attachment = self.session.exec(select(Attachment).where(Attachment.public_id == public_id)).first()
        if attachment is None:
            raise NotFound(_("There is no attachment {id!r}.").format(id=public_id))
        return attachment

    def content(self, attachment: Attachment) -> Download:
        blob = self.session.get(AttachmentBlob, attachment.sha256)
        if blob is None:  # the row outlived its bytes: nothing to send
            raise NotFound(_("There is no attachment {id!r}.").format(id=attachment.public_id))
        if blob.store == DATABASE:
            content = blob.content or b""
        else:
            content = readable_store(blob.store).get(blob.sha256)
        return Download(attachment.name, attachment.content_type, attachment.size, attachment.sha256, content)

    # --- signed links ----------------------------------------------------------------------------------------
    def link_expiry(self) -> datetime:
        return self.clock.now() + self.link_lifetime

    def signed_path(self, signer: TokenSigner, attachment: Attachment, expires_at: datetime | None = None) -> str:
        """The download address with a signed, expiring token bound to the attachment's conversation."""
        token = signer.attachment_link_token(row_id(attachment), attachment.conversation_id,
                                             expires_at or self.link_expiry())
        return f"{download_path(attachment)}?token={token}"

    def by_link(self, signer: TokenSigner, public_id: str, token: str) -> Attachment:
        """The attachment a signed link opens; NotFound for a forged, expired or other conversation's link (the
        same answer for each, so links cannot be probed)."""
        attachment = self.by_public_id(public_id)
        try:
            attachment_id, conversation_id = signer.verify_attachment_link_token(token, self.clock.now())
        except InvalidToken:
            raise NotFound(_("This download link is not valid or has expired.")) from None
        if attachment_id != attachment.id or conversation_id != attachment.conversation_id:
            raise NotFound(_("This download link is not valid or has expired."))
        return attachment

    # --- deleting --------------------------------------------------------------------------------------------
    @transactional
    def delete_attachments_of_end_user(self, end_user_id: int) -> int:
        """Delete every file in the end user's conversations (theirs and what agents sent them) and every file they
        uploaded, with the bytes no other attachment shares (in another store: after the commit). Returns how many
        attachments were deleted."""
        in_scope = (col(Attachment.conversation_id).in_(select(Conversation.id).where(
            Conversation.end_user_id == end_user_id)) | (col(Attachment.uploader_end_user_id) == end_user_id))
        digests = set(self.session.exec(select(Attachment.sha256).where(in_scope)).all())
        result = self.session.execute(delete(Attachment).where(in_scope))
        if digests:
            still_used = exists().where(col(Attachment.sha256) == col(AttachmentBlob.sha256))
            unused = list(self.session.exec(select(AttachmentBlob.sha256).where(
                col(AttachmentBlob.sha256).in_(digests), ~still_used)).all())
            self.session.execute(delete(AttachmentBlob).where(col(AttachmentBlob.sha256).in_(unused), ~still_used))
            # Bytes outside the database go only after the commit, and only if no row came back for them by then.
            delete_after_commit(self.session, set(unused))
        return int(getattr(result, "rowcount", 0) or 0)


def delete_attachments_of_end_user(session: Session, end_user_id: int) -> int:
    """Erasing an end user: delete their files and the bytes no one else shares (see AttachmentService); joins the
    caller's transaction when one is open on session, else commits its own."""
    return AttachmentService(session, SystemClock()).delete_attachments_of_end_user(end_user_id)

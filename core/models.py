"""Every database table: end users, agents, conversations, messages, events, settings, outbox, inbound mail, triggers,
help-center articles.

All times are stored as naive UTC and read back as aware UTC (see UTCDateTime).
"""
from __future__ import annotations

import enum
import secrets
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import JSON, BigInteger, Column, DateTime, Float, Index, LargeBinary, Text, UniqueConstraint, event
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from core.article_index import after_article_table_created


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC and returns them aware, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC time from the clock")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def _time(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None if nullable else ..., sa_type=UTCDateTime, nullable=nullable, index=index)


class HasId(Protocol):
    id: int | None


def row_id(row: HasId) -> int:
    """The id of a row the database has given one (after a flush); a row without one is a programming error."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: flush the session first")
    return row.id


def new_public_id() -> str:
    """An unguessable, URL-safe id shown outside the database (links, the widget, emails)."""
    return secrets.token_urlsafe(12)


class AgentStatus(str, enum.Enum):
    online = "online"
    away = "away"
    offline = "offline"


class ConversationStatus(str, enum.Enum):
    queued = "queued"
    open = "open"
    pending = "pending"
    solved = "solved"


class AuthorKind(str, enum.Enum):
    end_user = "end_user"
    agent = "agent"
    system = "system"


class Channel(str, enum.Enum):
    messaging = "messaging"
    email = "email"
    api = "api"


class EndUser(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_public_id, unique=True, max_length=32)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320, index=True)
    # True once the address is proven: identify() with a valid signature, or an email reply from it.
    email_verified: bool = False
    # Set when a notification to this address bounced; cleared when the address changes.
    email_failing: bool = False
    language: str | None = Field(default=None, max_length=35)
    language_set_by_agent: bool = False
    timezone: str | None = Field(default=None, max_length=64)
    blocked: bool = False
    created_at: datetime = _time()
    # The host website's own id for this person, set by a signed identify(); unique, so one person is one profile.
    external_id: str | None = Field(default=None, unique=True, max_length=255)
    # Widget tokens issued before this time are refused (blocking, an agent's "sign out everywhere").
    sessions_valid_after: datetime | None = _time(nullable=True)
    # Set when an agent merged this profile into another: its tokens then act for that one.
    merged_into_id: int | None = Field(default=None, foreign_key="enduser.id")


class Agent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    handle: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=200)
    status: AgentStatus = AgentStatus.offline
    is_admin: bool = False
    os_user: str | None = Field(default=None, unique=True, max_length=64)
    language: str | None = Field(default=None, max_length=35)
    # IANA time zone name (Europe/Berlin) the console shows times in; None: UTC.
    timezone: str | None = Field(default=None, max_length=64)
    created_at: datetime = _time()
    status_changed_at: datetime | None = _time(nullable=True)


class Conversation(SQLModel, table=True):
    __table_args__ = (
        Index("ix_conversation_waiting", "status", "waiting_since"),
        # The queue listing reads each page in index order (waiting time, or last activity), stopping after the
        # page: no sort of all rows.
        Index("ix_conversation_wait_order", "waiting_since", "id"),
        Index("ix_conversation_updated_order", "updated_at", "id"),
        Index("ix_conversation_listing_assignee", "assignee_id", "status", "waiting_since"),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_public_id, unique=True, max_length=32)
    end_user_id: int = Field(foreign_key="enduser.id", index=True)
    status: ConversationStatus = ConversationStatus.queued
    assignee_id: int | None = Field(default=None, foreign_key="agent.id", index=True)
    language: str | None = Field(default=None, max_length=35)
    channel: Channel = Channel.messaging
    created_at: datetime = _time()
    updated_at: datetime = _time()
    # Highest seq allocated; the next message gets last_seq + 1 (allocated by an atomic UPDATE).
    last_seq: int = 0
    last_message_at: datetime | None = _time(nullable=True)
    last_message_channel: Channel | None = None
    # Since when the end user has been waiting for an agent; None when the agents spoke last.
    waiting_since: datetime | None = _time(nullable=True)
    # Read high-water marks: the highest seq each side has read.
    end_user_read_seq: int = 0
    agent_read_seq: int = 0
    # Continuous conversations: highest agent seq already handed to a notification, next due time.
    notified_seq: int = 0
    notify_due_at: datetime | None = _time(nullable=True, index=True)
    end_user_last_seen_at: datetime | None = _time(nullable=True)
    end_user_present: bool = False
    # Where this conversation's notifications go: an address its end user typed for it or proved. A later,
    # unproven address never takes over a proven one here (see core/end_users.py).
    notify_email: str | None = Field(default=None, max_length=320)
    tags: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))


class Message(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("conversation_id", "seq", name="uq_message_conversation_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    seq: int
    author_kind: AuthorKind
    author_agent_id: int | None = Field(default=None, foreign_key="agent.id")
    author_end_user_id: int | None = Field(default=None, foreign_key="enduser.id")
    body: str = Field(sa_column=Column(Text, nullable=False))
    channel: Channel = Channel.messaging
    created_at: datetime = _time()
    email_message_id: str | None = Field(default=None, unique=True, max_length=998)
    # For agent messages: whether the email fallback may carry this message if it stays unread.
    email_fallback: bool = True
    # What the client should do with a system message (e.g. "email_request" shows the email form).
    kind: str = Field(default="text", max_length=32)
    meta: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class VerifiedAddress(SQLModel, table=True):
    """An email address proven to belong to an end user: by a reply carrying their token, a signed identify,
    or an agent's confirmation. Token-less mail from an address joins only an end user who proved it."""

    __tablename__ = "verified_address"
    __table_args__ = (UniqueConstraint("end_user_id", "address", name="uq_verified_address_end_user"),)

    id: int | None = Field(default=None, primary_key=True)
    end_user_id: int = Field(foreign_key="enduser.id", index=True)
    address: str = Field(max_length=320, index=True)  # normalized form (core.addresses.normalize_email)
    method: str = Field(max_length=32)  # reply_token, identify or agent
    verified_at: datetime = _time()


class SpentToken(SQLModel, table=True):
    """A single-use credential that was used (a return link, an identify signature): kept until it expires."""

    __tablename__ = "spent_token"

    digest: str = Field(primary_key=True, max_length=64)  # SHA-256 of kind and token: the token is not stored
    kind: str = Field(max_length=32)
    end_user_id: int | None = Field(default=None, foreign_key="enduser.id")
    expires_at: datetime = _time(index=True)


class Event(SQLModel, table=True):
    """Append-only log of every state change, written in the same transaction; followed by cursor (id)."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    kind: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))
    created_at: datetime = _time()


class Setting(SQLModel, table=True):
    """One account-wide setting per key, with a JSON value (see core.settings for keys and defaults)."""

    key: str = Field(primary_key=True, max_length=64)
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_at: datetime = _time()


class OutboxStatus(str, enum.Enum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    bounced = "bounced"


class OutboxJob(SQLModel, table=True):
    """One email to send. Created in the same transaction as the state change that asks for it."""

    __table_args__ = (Index("ix_outboxjob_ready", "status", "next_attempt_at"),
                      # The per-address daily cap counts recent jobs to one mailbox.
                      Index("ix_outboxjob_address_key", "address_key", "created_at"))

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="notification", max_length=32)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    idempotency_key: str = Field(unique=True, max_length=200)
    first_seq: int = 0
    last_seq: int = 0
    to_address: str = Field(max_length=320)
    # to_address lowercased: mail servers treat local parts case-insensitively, and so do the daily caps.
    address_key: str = Field(default="", max_length=320)
    language: str | None = Field(default=None, max_length=35)
    # Fixed when the job is created, so a retry re-sends the same email and clients dedupe it.
    message_id: str = Field(unique=True, max_length=998)
    status: OutboxStatus = OutboxStatus.pending
    attempts: int = 0
    next_attempt_at: datetime = _time()
    locked_until: datetime | None = _time(nullable=True)
    locked_by: str | None = Field(default=None, max_length=128)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = _time()
    sent_at: datetime | None = _time(nullable=True)
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


MAX_INBOUND_SUBJECT_CHARS = 998
MAX_RATE_LIMIT_KEY_CHARS = 200


class InboundOutcome(str, enum.Enum):
    posted = "posted"
    duplicate = "duplicate"
    held = "held"
    refused = "refused"
    new_conversation = "new_conversation"
    bounce = "bounce"
    auto_reply = "auto_reply"


class HeldStatus(str, enum.Enum):
    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"


class InboundDecision(str, enum.Enum):
    """What an agent did with an email that was not posted on arrival."""

    posted = "posted"
    discarded = "discarded"


class InboundEmail(SQLModel, table=True):
    __tablename__ = "inbound_email"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=998, index=True)
    mailbox: str = Field(default="", max_length=255)
    # IMAP UIDs and UIDVALIDITY are unsigned 32-bit: beyond PostgreSQL's INTEGER.
    uidvalidity: int = Field(default=0, sa_type=BigInteger)
    uid: int = Field(default=0, sa_type=BigInteger)
    sender: str = Field(default="", max_length=320)
    sender_name: str | None = Field(default=None, max_length=200)
    subject: str = Field(default="", max_length=MAX_INBOUND_SUBJECT_CHARS)
    outcome: InboundOutcome = Field(index=True)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    posted_message_id: int | None = Field(default=None, foreign_key="message.id")
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # new text, quotes stripped
    original_text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    attachments: str = Field(
        default="", sa_column=Column(Text, nullable=False, default="")
    )  # "name (type, size)" lines
    raw_source: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    received_at: datetime = _time(index=True)
    held_status: HeldStatus | None = Field(default=None, index=True)
    decision: InboundDecision | None = Field(default=None, index=True)  # set once an agent posted or discarded it
    decided_by_agent_id: int | None = Field(default=None, foreign_key="agent.id")
    decided_at: datetime | None = _time(nullable=True)


class MailboxState(SQLModel, table=True):
    """How far the poller got in one mailbox: a UID is only meaningful with its UIDVALIDITY."""

    __tablename__ = "mailbox_state"

    id: int | None = Field(default=None, primary_key=True)
    mailbox: str = Field(max_length=255, unique=True)
    uidvalidity: int = Field(default=0, sa_type=BigInteger)
    last_uid: int = Field(default=0, sa_type=BigInteger)
    updated_at: datetime = _time()


class SenderWindow(SQLModel, table=True):
    """Emails counted per sender in the current window, and until when the sender is rate-limited."""

    __tablename__ = "sender_window"

    id: int | None = Field(default=None, primary_key=True)
    sender: str = Field(max_length=320, unique=True)
    window_start: datetime = _time()
    count: int = 0
    limited_until: datetime | None = _time(nullable=True)


class EmailTemplateOverride(SQLModel, table=True):
    """Subject and/or body replacing the shipped text for one language; None keeps the shipped one."""

    language: str = Field(primary_key=True, max_length=35)
    subject: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_by: int | None = Field(default=None, foreign_key="agent.id")


class RateLimitBucket(SQLModel, table=True):
    """Requests left for one key (an address or an end user) when last counted; refilled evenly over a minute."""

    __tablename__ = "rate_limit"

    key: str = Field(primary_key=True, max_length=MAX_RATE_LIMIT_KEY_CHARS)
    tokens: float = Field(sa_type=Float)
    updated_at: datetime = Field(sa_type=UTCDateTime, index=True)


class Trigger(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # The built-in triggers' stable key; None for triggers an admin made.
    key: str | None = Field(default=None, unique=True, max_length=64)
    name: str = Field(max_length=200)
    active: bool = False
    position: int = 0
    conditions: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))
    actions: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))
    # language tag -> {text key -> text}; a missing text falls back to the catalog default.
    texts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class AttachmentBlob(SQLModel, table=True):
    """One file's bytes, stored once however many attachments carry it: keyed by the SHA-256 of the content; the
    bytes are in this row or, for another store, under the digest there."""

    __tablename__ = "attachment_blob"

    sha256: str = Field(primary_key=True, max_length=64)  # lowercase hex
    size: int = Field(sa_type=BigInteger)
    # Where the bytes are: "database" (in content) or an installed store such as "s3" (content is then NULL).
    # Reading follows this column, so files stored before a switch of attachments.store stay readable.
    store: str = Field(default="database", max_length=16, sa_column_kwargs={"server_default": "database"})
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = _time()


class Attachment(SQLModel, table=True):
    """A file someone attached to a conversation's message: its name, sniffed type, size and who sent it."""

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_public_id, unique=True, max_length=32)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    sha256: str = Field(foreign_key="attachment_blob.sha256", index=True, max_length=64)
    name: str = Field(max_length=255)
    content_type: str = Field(max_length=128)  # sniffed from the content, never taken from the sender
    size: int = Field(sa_type=BigInteger)
    uploader_kind: AuthorKind
    uploader_end_user_id: int | None = Field(default=None, foreign_key="enduser.id", index=True)
    uploader_agent_id: int | None = Field(default=None, foreign_key="agent.id")
    # An email's inline part: its Content-ID (without <>), so cid: references in the email's HTML still resolve.
    content_id: str | None = Field(default=None, max_length=998)
    created_at: datetime = _time()


class OptOutSource(str, enum.Enum):
    one_click = "one-click"  # the mail client's List-Unsubscribe-Post, or the page's button
    email = "email"  # an email to the unsubscribe mailto address


class EmailOptOut(SQLModel, table=True):
    """One address that asked for no more notification emails, since when and how."""

    __tablename__ = "email_opt_out"

    # Lowercased: mail servers treat local parts case-insensitively, and so does the daily cap.
    address_key: str = Field(primary_key=True, max_length=320)
    address: str = Field(max_length=320)
    stopped_at: datetime = _time()
    source: str = Field(max_length=32)
    job_id: int | None = Field(default=None)  # the email whose link or address was used


class ConversationNote(SQLModel, table=True):
    """An agent's internal note on a conversation: only agents ever see it.

    Notes are kept out of the message table on purpose: every path that reaches the end user (the widget API, its
    WebSocket, notification emails, recaps, read marks, first responses, triggers) reads messages, so a note cannot
    leak through a query that forgot a filter. after_seq places it in the transcript: after that message.
    """

    __tablename__ = "conversation_note"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    after_seq: int = 0
    author_agent_id: int = Field(foreign_key="agent.id")
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _time()


class Macro(SQLModel, table=True):
    """A canned reply: one text per language (Jinja, rendered in core.template_sandbox) and optional actions."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    # language tag -> text; the conversation's language is used, else the account default, else the first one.
    texts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))
    # Applied with the text when the agent sends it: a status to set, assign to the sending agent, tags to add.
    set_status: str | None = Field(default=None, max_length=16)
    assign_to_me: bool = False
    add_tags: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))
    created_at: datetime = _time()
    updated_at: datetime = _time()
class Activity(SQLModel, table=True):
    """Who is viewing or typing in a conversation right now: ephemeral, one upserted row per participant.

    Writers refresh a row at most every few seconds (core.activity_rules); readers ignore times in the past, so a
    process that dies leaves nothing stuck. Nothing here goes into the event log: a keystroke is not a state change.
    """

    # typing_until: the widget servers ask "where is an agent typing now?" for all their sockets at once.
    __table_args__ = (Index("ix_activity_updated", "updated_at"), Index("ix_activity_typing_until", "typing_until"))

    conversation_id: int = Field(foreign_key="conversation.id", primary_key=True)
    # "agent:<id>" or "end_user": one row per person per conversation.
    participant: str = Field(primary_key=True, max_length=32)
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    typing_until: datetime | None = _time(nullable=True)
    viewing_until: datetime | None = _time(nullable=True)
    # What the end user is typing, kept only while the account's typing_preview setting is on.
    preview: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    updated_at: datetime = _time()


class RatingScore(str, enum.Enum):
    good = "good"
    bad = "bad"


class Rating(SQLModel, table=True):
    """The end user's satisfaction with a solved conversation: one per conversation, changeable."""

    conversation_id: int = Field(foreign_key="conversation.id", primary_key=True)
    end_user_id: int = Field(foreign_key="enduser.id")
    score: RatingScore
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = _time()
    updated_at: datetime = _time(index=True)


class Article(SQLModel, table=True):
    """One help-center article: Markdown body in one language, found by full-text search (core.article_search).

    The search index beside this table is not a model: an FTS5 table on SQLite, a generated tsvector column on
    PostgreSQL (core.article_index creates both, in the migration and at create_all).
    """

    __table_args__ = (UniqueConstraint("language", "slug", name="uq_article_language_slug"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    # The last part of the public address /help/{language}/{slug}: lowercase letters, digits and hyphens.
    slug: str = Field(max_length=200)
    body: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # Markdown
    language: str = Field(max_length=35, index=True)  # core.i18n.normalize_tag form: en, de, pt_BR
    tags: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))
    published: bool = False
    created_at: datetime = _time()
    updated_at: datetime = _time()


# create_all builds the search index beside the table (the migration calls core.article_index itself).
event.listen(Article.__table__, "after_create", after_article_table_created)  # type: ignore[attr-defined]

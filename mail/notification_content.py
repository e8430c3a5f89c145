"""What a notification email says: gathered from the database (conversation, messages, links), not yet rendered."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from babel.units import format_unit
from sqlmodel import Session, col, select

from core.attachments import AttachmentService
from core.config import Config
from core.errors import ConfigError, NotFound
from core.i18n import _, translations
from core.identity import return_link_url
from core.models import (
    Agent,
    Attachment,
    AuthorKind,
    Conversation,
    EmailTemplateOverride,
    EndUser,
    Message,
    OutboxJob,
    OutboxStatus,
)
from core.opt_outs import unsubscribe_token
from core.outbox import THREADING_LIMIT, OutboxService, bare_message_id
from core.settings import AccountSettings, SettingsService
from core.tokens import TokenSigner
from mail.language import email_language


class _Stored(Protocol):
    id: int | None


def stored_id(row: _Stored) -> int:
    """The primary key of a row read from or flushed to the database (core's models type it Optional for inserts)."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id: it was never flushed to the database")
    return row.id


@dataclass(frozen=True)
class FileView:
    """One attached file as the email lists it: its name, its size in the reader's words, a signed download link."""

    name: str
    size: str
    url: str


@dataclass(frozen=True)
class MessageView:
    """One message as the email shows it: who wrote it, when (localized), its plain text and its files."""

    author: str
    time: str
    body: str
    from_end_user: bool = False
    files: tuple[FileView, ...] = ()


@dataclass
class NotificationContent:
    """Everything a notification email says, gathered from the database; rendering needs nothing else."""

    message_id: str
    to_address: str
    to_name: str | None
    language: str
    brand_name: str
    support_address: str
    reply_address: str
    conversation_public_id: str
    conversation_url: str
    unread: list[MessageView]
    recap: list[MessageView] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    override_subject: str | None = None
    override_body: str | None = None
    job_id: int | None = None
    # RFC 8058 opt-out: the one-click link and the mailto address; empty for emails that belong to no job.
    unsubscribe_url: str = ""
    unsubscribe_address: str = ""

    def variables(self) -> dict[str, Any]:
        """The documented variables of subject and body overrides (see README, "Email notifications")."""
        t = translations(self.language)
        count = len(self.unread)
        return {
            "brand_name": self.brand_name,
            "end_user_name": self.to_name or "",
            "unread_count": count,
            "unread_line": t.ngettext("You have %(num)d unread message.", "You have %(num)d unread messages.",
                                      count) % {"num": count},
            "messages": [vars_of(m) for m in self.unread],
            "recap": [vars_of(m) for m in self.recap],
            "conversation_url": self.conversation_url,
            "reply_address": self.reply_address,
            "language": self.language,
        }


def vars_of(message: MessageView) -> dict[str, str]:
    return {"author": message.author, "time": message.time, "body": message.body}


# --- addresses, ids and links -------------------------------------------------------------------------
def reply_address(config: Config, support_address: str, token: str) -> str:
    """The support address with the reply token in it, per config.mail.reply_address_form."""
    local, _at, domain = support_address.rpartition("@")
    if not local or not domain:
        raise ConfigError(
            _("The support address {address!r} is not an email address; set it in the account settings.").format(
                address=support_address
            )
        )
    try:
        return config.mail.reply_address_form.format(local=local, token=token, domain=domain)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            _(
                "mail.reply_address_form {form!r} is not valid ({error}); use e.g. {{local}}+{{token}}@{{domain}}."
            ).format(form=config.mail.reply_address_form, error=exc)
        ) from None


def message_id_domain(config: Config, support_address: str) -> str:
    return config.mail.message_id_domain or support_address.rpartition("@")[2] or "threadline.invalid"


def unsubscribe_links(config: Config, signer: TokenSigner, support_address: str, job_id: int) -> tuple[str, str]:
    """The one-click unsubscribe URL and the unsubscribe mailto address of the email for outbox job job_id."""
    token = unsubscribe_token(signer, job_id)
    return (f"{widget_public_url(config)}/unsubscribe/{token}",
            reply_address(config, support_address, f"unsubscribe-{token}"))


def widget_public_url(config: Config) -> str:
    return (config.widget.public_url or f"http://{config.widget.host}:{config.widget.port}").rstrip("/")


def conversation_url(config: Config, signer: TokenSigner, conversation: Conversation, now: datetime) -> str:
    """The "return to the conversation" link: an expiring signed token, in the form the widget server serves."""
    expires = now + timedelta(days=config.widget.return_link_days)
    return return_link_url(widget_public_url(config), signer.return_link_token(stored_id(conversation), expires))


def file_size_text(size: int, language: str) -> str:
    """A file's size for people, in the reader's language: 512 B, 12.3 kB, 4.5 MB."""
    if size < 1000:
        return format_unit(size, "digital-byte", length="short", locale=language)
    if size < 1000 * 1000:
        return format_unit(round(size / 1000, 1), "digital-kilobyte", length="short", locale=language)
    return format_unit(round(size / 1000 / 1000, 1), "digital-megabyte", length="short", locale=language)


@functools.lru_cache(maxsize=256)
def _zone(name: str | None) -> Any:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def localized_time(when: datetime, language: str, zone: str | None) -> str:
    """when in the reader's language and time zone (UTC when unknown), with the zone named."""
    tzinfo = _zone(zone)
    text = format_datetime(when, "medium", tzinfo=tzinfo, locale=language)
    return f"{text} {format_datetime(when, 'z', tzinfo=tzinfo, locale=language)}"


# --- gathering ----------------------------------------------------------------------------------------
class NotificationGatherer:
    """Reads what one notification needs; reuse one per batch so settings and agent names are read once."""

    def __init__(self, session: Session, config: Config, signer: TokenSigner, now: datetime) -> None:
        self.session = session
        self.config = config
        self.signer = signer
        self.now = now
        self._settings: AccountSettings | None = None
        self._agents: dict[int, str] = {}
        self._overrides: dict[str, EmailTemplateOverride | None] = {}
        self._conversations: dict[int, Conversation | None] = {}
        self._end_users: dict[int, EndUser | None] = {}
        self._messages: dict[int, list[Message]] = {}
        self._sent: dict[int, list[tuple[int, str]]] = {}

    @property
    def settings(self) -> AccountSettings:
        if self._settings is None:
            self._settings = SettingsService(self.session, _NoClock()).load()
        return self._settings

    def agent_name(self, agent_id: int | None) -> str:
        if agent_id is None:
            return self.settings.brand_name
        if agent_id not in self._agents:
            agent = self.session.get(Agent, agent_id)
            self._agents[agent_id] = agent.name if agent else self.settings.brand_name
        return self._agents[agent_id]

    def override(self, language: str) -> EmailTemplateOverride | None:
        if language not in self._overrides:
            self._overrides[language] = self.session.get(EmailTemplateOverride, language)
        return self._overrides[language]

    def prefetch(self, jobs: list[OutboxJob]) -> None:
        """Read the conversations, end users, messages and earlier emails of many jobs in a few queries."""
        ids = {job.conversation_id for job in jobs if job.conversation_id is not None}
        if not ids:
            return
        for conversation in self.session.exec(select(Conversation).where(col(Conversation.id).in_(ids))):
            self._conversations[stored_id(conversation)] = conversation
        user_ids = {c.end_user_id for c in self._conversations.values() if c is not None}
        for end_user in self.session.exec(select(EndUser).where(col(EndUser.id).in_(user_ids))):
            self._end_users[stored_id(end_user)] = end_user
        messages: dict[int, list[Message]] = {cid: [] for cid in ids}
        query = (select(Message).where(col(Message.conversation_id).in_(ids), Message.kind == "text")
                 .order_by(col(Message.conversation_id), col(Message.seq)))
        for message in self.session.exec(query):
            messages[message.conversation_id].append(message)
        self._messages.update(messages)
        sent: dict[int, list[tuple[int, str]]] = {cid: [] for cid in ids}
        sent_query = (select(OutboxJob.id, OutboxJob.conversation_id, OutboxJob.message_id)
                      .where(col(OutboxJob.conversation_id).in_(ids), OutboxJob.status == OutboxStatus.sent)
                      .order_by(col(OutboxJob.id)))
        for job_id, conversation_id, message_id in self.session.exec(sent_query):
            if job_id is None or conversation_id is None:  # never from the database; the models allow it for inserts
                continue
            sent[conversation_id].append((job_id, f"<{bare_message_id(message_id)}>"))
        self._sent.update(sent)

    def _conversation(self, conversation_id: int) -> Conversation | None:
        if conversation_id not in self._conversations:
            self._conversations[conversation_id] = self.session.get(Conversation, conversation_id)
        return self._conversations[conversation_id]

    def _end_user(self, end_user_id: int) -> EndUser | None:
        if end_user_id not in self._end_users:
            self._end_users[end_user_id] = self.session.get(EndUser, end_user_id)
        return self._end_users[end_user_id]

    def _conversation_messages(self, conversation_id: int, up_to_seq: int) -> list[Message]:
        if conversation_id not in self._messages:
            self._messages[conversation_id] = list(self.session.exec(
                select(Message).where(Message.conversation_id == conversation_id, Message.kind == "text")
                .order_by(col(Message.seq))))
        return [m for m in self._messages[conversation_id] if m.seq <= up_to_seq]

    def _references(self, conversation_id: int, before_job_id: int | None) -> list[str]:
        if conversation_id not in self._sent:
            return OutboxService(self.session, _NoClock()).sent_message_ids_for(conversation_id, before_job_id)
        ids = [mid for job_id, mid in self._sent[conversation_id] if before_job_id is None or job_id < before_job_id]
        return ids[-THREADING_LIMIT:]

    def gather(self, job: OutboxJob) -> NotificationContent:
        settings = self.settings
        if not settings.support_address:
            raise ConfigError(
                _("No support address is set; set one in the account settings before emails can be sent.")
            )
        if job.conversation_id is None:
            raise NotFound(_("Outbox job {id} belongs to no conversation.").format(id=job.id))
        conversation = self._conversation(job.conversation_id)
        if conversation is None:
            raise NotFound(_("There is no conversation with id {id}.").format(id=job.conversation_id))
        end_user = self._end_user(conversation.end_user_id)
        language = email_language(job.language or (end_user.language if end_user else None),
                                  conversation.language, settings.default_language)
        zone = end_user.timezone if end_user else None
        t = translations(language)
        recap_count = max(0, self.config.mail.recap_count)
        rows = self._conversation_messages(stored_id(conversation), job.last_seq)
        emailed = [m for m in rows if job.first_seq <= m.seq and m.author_kind is AuthorKind.agent and m.email_fallback]
        files = self._files([stored_id(m) for m in emailed], language)
        unread = [MessageView(self.agent_name(m.author_agent_id), localized_time(m.created_at, language, zone), m.body,
                              files=files.get(stored_id(m), ()))
                  for m in emailed]
        earlier = [m for m in rows if m.seq < job.first_seq and m.author_kind is not AuthorKind.system]
        recap = [
            MessageView(
                t.gettext("You") if m.author_kind is AuthorKind.end_user else self.agent_name(m.author_agent_id),
                localized_time(m.created_at, language, zone),
                m.body,
                from_end_user=m.author_kind is AuthorKind.end_user,
            )
            for m in (earlier[-recap_count:] if recap_count else [])
        ]
        override = self.override(language)
        unsubscribe_url, unsubscribe_address = unsubscribe_links(self.config, self.signer, settings.support_address,
                                                                 stored_id(job))
        return NotificationContent(
            job_id=job.id,
            message_id=job.message_id,
            to_address=job.to_address,
            to_name=end_user.name if end_user else None,
            language=language,
            brand_name=settings.brand_name,
            support_address=settings.support_address,
            reply_address=reply_address(
                self.config, settings.support_address, self.signer.reply_token(stored_id(conversation))
            ),
            conversation_public_id=conversation.public_id,
            conversation_url=conversation_url(self.config, self.signer, conversation, self.now),
            unread=unread,
            recap=recap,
            references=self._references(stored_id(conversation), stored_id(job)),
            override_subject=override.subject if override else None,
            override_body=override.body if override else None,
            unsubscribe_url=unsubscribe_url,
            unsubscribe_address=unsubscribe_address,
        )


    def _files(self, message_ids: list[int], language: str) -> dict[int, tuple[FileView, ...]]:
        """The emailed messages' files, each with a signed download link valid for attachments.link_days: the
        email links to them rather than carrying them."""
        files = AttachmentService(self.session, _NoClock())
        base = widget_public_url(self.config)
        expires = self.now + timedelta(days=self.config.attachments.link_days)

        def view(attachment: Attachment) -> FileView:
            return FileView(attachment.name, file_size_text(attachment.size, language),
                            base + files.signed_path(self.signer, attachment, expires))

        found = files.of_messages(message_ids)
        return {message_id: tuple(view(a) for a in attachments) for message_id, attachments in found.items()}


class _NoClock:
    """For services used here only to read, which never ask the time."""

    def now(self) -> datetime:  # pragma: no cover - reading never asks
        raise RuntimeError("a read-only use of a service asked for the time")

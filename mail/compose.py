"""Composing notification emails: gather a job's conversation from the database, render it localized (text + HTML)."""
from __future__ import annotations

import email.policy
import email.utils
import functools
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlmodel import Session, col, select

from core.clock import UTC
from core.config import Config
from core.email_templates import EmailTemplateOverride
from core.errors import ConfigError, NotFound
from core.i18n import _, translations
from core.models import Agent, AuthorKind, Conversation, EndUser, Message, OutboxJob
from core.outbox import OutboxService, bare_message_id
from core.settings import AccountSettings, SettingsService
from core.tokens import TokenSigner
from mail.language import email_language, is_right_to_left

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class MessageView:
    """One message as the email shows it: who wrote it, when (localized), and its plain text."""

    author: str
    time: str
    body: str
    from_end_user: bool = False


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
        raise ConfigError(_("The support address {address!r} is not an email address; set it in the account settings.").format(
            address=support_address))
    try:
        return config.mail.reply_address_form.format(local=local, token=token, domain=domain)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(_("mail.reply_address_form {form!r} is not valid ({error}); use e.g. {{local}}+{{token}}@{{domain}}.").format(
            form=config.mail.reply_address_form, error=exc)) from None


def message_id_domain(config: Config, support_address: str) -> str:
    return config.mail.message_id_domain or support_address.rpartition("@")[2] or "threadline.invalid"


def new_message_id(signer: TokenSigner, conversation_id: int, domain: str) -> str:
    """A unique Message-ID carrying the conversation's reply token, so a reply that drops Reply-To still threads."""
    return f"<{signer.reply_token(conversation_id)}.{secrets.token_hex(8)}@{domain}>"


def widget_public_url(config: Config) -> str:
    return (config.widget.public_url or f"http://{config.widget.host}:{config.widget.port}").rstrip("/")


def conversation_url(config: Config, signer: TokenSigner, conversation: Conversation, now: datetime) -> str:
    expires = now + timedelta(days=config.widget.return_link_days)
    query = urlencode({"conversation": conversation.public_id,
                       "return": signer.return_link_token(conversation.id, expires)})
    return f"{widget_public_url(config)}/?{query}"


def localized_time(when: datetime, language: str, zone: str | None) -> str:
    """when in the reader's language and time zone (UTC when unknown), with the zone named."""
    tzinfo: Any = UTC
    if zone:
        try:
            tzinfo = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            tzinfo = UTC
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

    def gather(self, job: OutboxJob) -> NotificationContent:
        settings = self.settings
        if not settings.support_address:
            raise ConfigError(_("No support address is set; set one in the account settings before emails can be sent."))
        if job.conversation_id is None:
            raise NotFound(_("Outbox job {id} belongs to no conversation.").format(id=job.id))
        conversation = self.session.get(Conversation, job.conversation_id)
        if conversation is None:
            raise NotFound(_("There is no conversation with id {id}.").format(id=job.conversation_id))
        end_user = self.session.get(EndUser, conversation.end_user_id)
        language = email_language(job.language or (end_user.language if end_user else None),
                                  conversation.language, settings.default_language)
        zone = end_user.timezone if end_user else None
        t = translations(language)
        recap_count = max(0, self.config.mail.recap_count)
        rows = list(self.session.exec(
            select(Message).where(Message.conversation_id == conversation.id, Message.seq <= job.last_seq,
                                  Message.kind == "text")
            .order_by(col(Message.seq))))
        unread = [MessageView(self.agent_name(m.author_agent_id), localized_time(m.created_at, language, zone), m.body)
                  for m in rows if job.first_seq <= m.seq and m.author_kind is AuthorKind.agent and m.email_fallback]
        earlier = [m for m in rows if m.seq < job.first_seq and m.author_kind is not AuthorKind.system]
        recap = [MessageView(t.gettext("You") if m.author_kind is AuthorKind.end_user else self.agent_name(m.author_agent_id),
                             localized_time(m.created_at, language, zone), m.body,
                             from_end_user=m.author_kind is AuthorKind.end_user)
                 for m in (earlier[-recap_count:] if recap_count else [])]
        override = self.override(language)
        references = OutboxService(self.session, _NoClock()).sent_message_ids_for(conversation.id, before_job_id=job.id)
        return NotificationContent(
            job_id=job.id, message_id=job.message_id, to_address=job.to_address,
            to_name=end_user.name if end_user else None, language=language, brand_name=settings.brand_name,
            support_address=settings.support_address,
            reply_address=reply_address(self.config, settings.support_address, self.signer.reply_token(conversation.id)),
            conversation_public_id=conversation.public_id,
            conversation_url=conversation_url(self.config, self.signer, conversation, self.now),
            unread=unread, recap=recap, references=references,
            override_subject=override.subject if override else None,
            override_body=override.body if override else None,
        )


class _NoClock:
    """For services used here only to read, which never ask the time."""

    def now(self) -> datetime:  # pragma: no cover - reading never asks
        raise RuntimeError("a read-only use of a service asked for the time")


# --- rendering ----------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=32)
def template_environment(language: str) -> Environment:
    """One environment per language, so concurrent renders in several languages never share translations."""
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        extensions=["jinja2.ext.i18n"],
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return environment


def render_subject(content: NotificationContent) -> str:
    t = translations(content.language)
    count = len(content.unread)
    subject = t.ngettext("New reply from {brand}", "{count} new replies from {brand}", count).format(
        count=count, brand=content.brand_name)
    if content.override_subject:
        from mail.overrides import render_override

        rendered = render_override(content.override_subject, content.variables(), fallback=subject)
        subject = " ".join(rendered.split()) or subject
    return subject


def render_bodies(content: NotificationContent) -> tuple[str, str]:
    """The plain-text and HTML bodies; user text is escaped in HTML and never read as markup."""
    environment = template_environment(content.language)
    values = dict(content.variables(), content=content, unread=content.unread, recap_views=content.recap,
                  rtl=is_right_to_left(content.language), html_lang=content.language.replace("_", "-"))
    override_text = None
    if content.override_body:
        from mail.overrides import render_override

        override_text = render_override(content.override_body, content.variables(), fallback=None)
    values["override_text"] = override_text
    text = environment.get_template("notification.txt").render(values)
    html = environment.get_template("notification.html").render(values)
    return text, html


def _address(display_name: str, address: str) -> Address:
    # Built from parts: parsing refuses non-ASCII local parts, which SMTPUTF8 servers accept.
    username, _at, domain = address.rpartition("@")
    return Address(display_name=display_name, username=username, domain=domain)


def build_email(content: NotificationContent, now: datetime) -> EmailMessage:
    """The complete multipart email with every header the notification needs."""
    text, html = render_bodies(content)
    message = EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = render_subject(content)
    message["From"] = Address(display_name=content.brand_name, addr_spec=content.support_address)
    message["To"] = _address(content.to_name or "", content.to_address)
    message["Reply-To"] = Address(display_name=content.brand_name, addr_spec=content.reply_address)
    message["Date"] = email.utils.format_datetime(now)
    message["Message-ID"] = f"<{bare_message_id(content.message_id)}>"
    if content.references:
        message["In-Reply-To"] = content.references[-1]
        message["References"] = " ".join(content.references)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["X-Threadline-Conversation"] = content.conversation_public_id
    message["Content-Language"] = content.language.replace("_", "-")
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message


def compose(session: Session, job: OutboxJob, config: Config, signer: TokenSigner, now: datetime) -> EmailMessage:
    """The email for one outbox job (reads the database; call it in a worker thread)."""
    return build_email(NotificationGatherer(session, config, signer, now).gather(job), now)

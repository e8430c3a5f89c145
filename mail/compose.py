"""Rendering notification emails: localized text and HTML from Jinja templates, then the MIME bytes SMTP sends."""
from __future__ import annotations

import binascii
import email
import email.policy
import email.utils
import functools
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.message import EmailMessage
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlmodel import Session

from core.config import Config
from core.i18n import translations
from core.models import OutboxJob
from core.outbox import bare_message_id
from core.tokens import TokenSigner
from core.template_sandbox import render_override
from mail.language import is_right_to_left
from mail.notification_content import (  # noqa: F401  (re-exported: what callers compose from)
    MessageView, NotificationContent, NotificationGatherer, conversation_url, localized_time, message_id_domain,
    new_message_id, reply_address, widget_public_url,
)

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


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
        override_text = render_override(content.override_body, content.variables(), fallback=None)
    values["override_text"] = override_text
    text = environment.get_template("notification.txt").render(values)
    html = environment.get_template("notification.html").render(values)
    return text, html


def _is_ascii(*texts: str) -> bool:
    return all(text.isascii() for text in texts)


def format_address(display_name: str | None, address: str) -> str:
    """An address header value: the display name quoted or RFC 2047-encoded as needed; a non-ASCII address
    stays raw UTF-8, which is only valid under SMTPUTF8 (the sender asks for it then)."""
    if address.isascii():
        return email.utils.formataddr((display_name or "", address))
    if not display_name:
        return address
    return email.utils.formataddr((display_name, "x@x"))[: -len("<x@x>")] + f"<{address}>"


def _header_text(text: str) -> str:
    text = " ".join(text.split())  # one line: no header injection through a subject or name
    return text if text.isascii() else Header(text, "utf-8").encode(linesep="\r\n")


@dataclass(frozen=True)
class OutgoingEmail:
    """A composed email ready for SMTP: envelope, bytes on the wire, and whether it needs SMTPUTF8."""

    sender: str
    recipient: str
    data: bytes
    message_id: str
    smtputf8: bool


def email_headers(content: NotificationContent, now: datetime) -> list[tuple[str, str]]:
    """Every header of the notification, in order, already encoded for the wire (ASCII unless SMTPUTF8)."""
    headers = [
        ("Subject", _header_text(render_subject(content))),
        ("From", format_address(content.brand_name, content.support_address)),
        ("To", format_address(content.to_name, content.to_address)),
        ("Reply-To", format_address(content.brand_name, content.reply_address)),
        ("Date", email.utils.format_datetime(now)),
        ("Message-ID", f"<{bare_message_id(content.message_id)}>"),
    ]
    if content.references:
        headers.append(("In-Reply-To", content.references[-1]))
        # Folded one id per line, so a long thread never makes an over-long header line.
        headers.append(("References", "\r\n ".join(content.references)))
    headers += [
        ("Auto-Submitted", "auto-generated"),
        ("X-Auto-Response-Suppress", "All"),
        ("X-Threadline-Conversation", content.conversation_public_id),
        ("Content-Language", content.language.replace("_", "-")),
        ("MIME-Version", "1.0"),
    ]
    return headers


def _quoted_printable(text: str) -> str:
    # Quoted-printable keeps the body 7-bit (no 8BITMIME needed) and readable; lines end in CRLF on the wire.
    encoded = binascii.b2a_qp(text.replace("\r\n", "\n").encode("utf-8"), istext=True).decode("ascii")
    return encoded.replace("\n", "\r\n")


def email_bytes(content: NotificationContent, now: datetime) -> bytes:
    """The complete multipart/alternative email (plain text, then HTML) as SMTP sends it.

    Written directly rather than through the email package: it is the sender's hot path, several times faster,
    and every part is fixed (two UTF-8 text parts, quoted-printable).
    """
    text, html = render_bodies(content)
    boundary = f"=_threadline_{secrets.token_hex(12)}"
    lines = [f"{name}: {value}" for name, value in email_headers(content, now)]
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    lines.append("")
    for subtype, body in (("plain", text), ("html", html)):
        lines += [f"--{boundary}", f'Content-Type: text/{subtype}; charset="utf-8"',
                  "Content-Transfer-Encoding: quoted-printable", "", _quoted_printable(body)]
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines).encode("utf-8")


def build_email(content: NotificationContent, now: datetime) -> EmailMessage:
    """The email as a parsed message (for previews and tests); the sender uses email_bytes directly."""
    return email.message_from_bytes(email_bytes(content, now), policy=email.policy.default)  # type: ignore[return-value]


def outgoing(content: NotificationContent, now: datetime) -> OutgoingEmail:
    """content composed and flattened to the bytes SMTP sends (CRLF line ends)."""
    return OutgoingEmail(sender=content.support_address, recipient=content.to_address,
                         data=email_bytes(content, now), message_id=f"<{bare_message_id(content.message_id)}>",
                         smtputf8=not _is_ascii(content.to_address, content.support_address, content.reply_address))


def compose(session: Session, job: OutboxJob, config: Config, signer: TokenSigner, now: datetime) -> OutgoingEmail:
    """The email for one outbox job (reads the database; call it in a worker thread)."""
    return outgoing(NotificationGatherer(session, config, signer, now).gather(job), now)

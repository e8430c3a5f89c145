"""Rendering notification emails: localized text and HTML from Jinja templates, then the MIME bytes SMTP sends."""
from __future__ import annotations

import email
import email.policy
import email.utils
import functools
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from core.i18n import translations
from core.outbox import bare_message_id
from core.package_data import package_folder
from core.template_sandbox import render_override
from mail import headers as wire_headers
from mail.language import is_right_to_left
from mail.notification_content import NotificationContent

log = logging.getLogger(__name__)

TEMPLATES_DIR = package_folder("mail", "templates")


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
    environment.filters["message_html"] = message_html
    return environment


# A URL in an agent's message becomes a link; what follows it as punctuation does not belong to it.
_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]}*"


def message_html(text: str, links: bool = False) -> Markup:
    """Plain text as HTML: escaped, line breaks as <br> (Outlook ignores pre-wrap), and with links=True (agents'
    messages only: an end user's text never becomes a link in our email) URLs as escaped rel="noopener" links."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    parts: list[Markup] = []
    position = 0
    if links:
        for match in _URL.finditer(text):
            url = match.group(0).rstrip(_URL_TRAILING)
            if url.count("(") > url.count(")") and match.group(0)[len(url):].startswith(")"):
                url += ")"  # a URL with parentheses of its own (Wikipedia) keeps its closing one
            if len(url) <= len("https://"):
                continue
            parts.append(escape(text[position:match.start()]))
            parts.append(Markup('<a href="{0}" rel="noopener" style="color: #0969da;">{0}</a>').format(url))
            position = match.start() + len(url)
    parts.append(escape(text[position:]))
    return Markup("").join(parts).replace("\n", Markup("<br>\n"))


def render_subject(content: NotificationContent) -> str:
    t = translations(content.language)
    count = len(content.unread)
    subject = t.ngettext("New reply from {brand}", "{count} new replies from {brand}", count).format(
        count=count, brand=content.brand_name)
    if content.override_subject:
        rendered = render_override(content.override_subject, content.variables(), fallback=subject)
        subject = " ".join((rendered or "").split()) or subject
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


def format_address(display_name: str | None, address: str, header_name: str = "To") -> str:
    """An address header value: the display name quoted or RFC 2047-encoded as needed (encoded-words of at most 75
    characters, folded at 78); a non-ASCII address stays raw UTF-8, valid only under SMTPUTF8 (asked for then)."""
    return wire_headers.address(header_name, display_name, address)


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
        ("Subject", wire_headers.unstructured("Subject", render_subject(content))),
        ("From", format_address(content.brand_name, content.support_address, "From")),
        ("To", format_address(content.to_name, content.to_address, "To")),
        ("Reply-To", format_address(content.brand_name, content.reply_address, "Reply-To")),
        ("Date", email.utils.format_datetime(now)),
        ("Message-ID", f"<{bare_message_id(content.message_id)}>"),
    ]
    if content.references:
        headers.append(("In-Reply-To", content.references[-1]))
        # Folded one id per line, so a long thread never makes an over-long header line.
        headers.append(("References", "\r\n ".join(content.references)))
    if content.unsubscribe_url:
        # RFC 2369 and RFC 8058: mail clients show their own "unsubscribe" and POST the link in one click.
        headers.append(("List-Unsubscribe", wire_headers.fold("List-Unsubscribe", [
            f"<{content.unsubscribe_url}>,", f"<mailto:{content.unsubscribe_address}>"])))
        headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    headers += [
        ("Auto-Submitted", "auto-generated"),
        # Not "All": that also suppresses non-delivery reports, which tell us to stop emailing a dead address.
        ("X-Auto-Response-Suppress", "OOF, AutoReply"),
        ("X-Threadline-Conversation", content.conversation_public_id),
        ("Content-Language", content.language.replace("_", "-")),
        ("MIME-Version", "1.0"),
    ]
    return headers


def email_bytes(content: NotificationContent, now: datetime) -> bytes:
    """The complete multipart/alternative email (plain text, then HTML) as SMTP sends it.

    Written directly rather than through the email package: it is the sender's hot path, several times faster,
    and every part is fixed (two UTF-8 text parts, quoted-printable).
    """
    text, html = render_bodies(content)
    boundary = f"=_threadline_{secrets.token_hex(12)}"
    # A value folded right after the colon (a long first token) gets no space before its line break.
    lines = [f"{name}:{value}" if value.startswith("\r\n") else f"{name}: {value}"
             for name, value in email_headers(content, now)]
    lines.append(f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"')
    lines.append("")
    for subtype, body in (("plain", text), ("html", html)):
        lines += [f"--{boundary}", f'Content-Type: text/{subtype}; charset="utf-8"',
                  "Content-Transfer-Encoding: quoted-printable", "", wire_headers.quoted_printable(body)]
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines).encode("utf-8")


def build_email(content: NotificationContent, now: datetime) -> EmailMessage:
    """The email as a parsed message (for previews and tests); the sender uses email_bytes directly."""
    return email.message_from_bytes(email_bytes(content, now), policy=email.policy.default)


def outgoing(content: NotificationContent, now: datetime) -> OutgoingEmail:
    """content composed and flattened to the bytes SMTP sends (CRLF line ends)."""
    return OutgoingEmail(sender=content.support_address, recipient=content.to_address,
                         data=email_bytes(content, now), message_id=f"<{bare_message_id(content.message_id)}>",
                         smtputf8=not _is_ascii(content.to_address, content.support_address, content.reply_address))

"""One ParsedEmail read once from raw bytes: headers, text (HTML converted), attachments, size limits, MIME errors."""
from __future__ import annotations

import email
import email.policy
import hashlib
import html
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message, MIMEPart
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from core.email_files import files_of_message
from core.i18n import _
from core.text import MAX_NAME_CHARS, without_control_characters


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str  # as the email declares it; the store sniffs its own from the bytes
    size: int
    content: bytes = field(default=b"", repr=False, compare=False)
    content_id: str = ""  # an inline part's Content-ID without <>, which the HTML refers to as cid:...

    def describe(self) -> str:
        return f"{self.name} ({self.content_type}, {self.size} bytes)"


@dataclass
class ParsedEmail:
    raw: bytes
    message: Message | None
    message_id: str = ""
    sender: str = ""
    sender_name: str = ""
    subject: str = ""
    text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)  # To, Cc, Delivered-To, X-Original-To
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    error: str = ""  # set when the email cannot be read or breaks a limit: it is refused with this reason

    def header(self, name: str) -> str:
        if self.message is None:
            return ""
        try:
            value = self.message.get(name)
        except Exception:  # noqa: BLE001 - a header the policy cannot parse (any way) is as good as absent
            return ""
        return str(value) if value is not None else ""

    @property
    def content_type(self) -> str:
        return self.message.get_content_type() if self.message is not None else ""


class _TextFromHtml(HTMLParser):
    """Visible text of an HTML body: block elements become line breaks, scripts and styles are dropped."""

    BLOCKS = frozenset(
        {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._quote = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        elif tag == "blockquote":
            self._quote += 1
            self.parts.append("\n")
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip = max(0, self._skip - 1)
        elif tag == "blockquote":
            self._quote = max(0, self._quote - 1)
            self.parts.append("\n")
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        data = re.sub(r"[ \t\r\n]+", " ", data)
        if self._quote:
            # Quoted history is kept as "> " lines so the quote stripper removes it like plain-text quoting.
            data = data.replace("\n", "\n> ")
            if not self.parts or self.parts[-1].endswith("\n"):
                data = "> " + data.lstrip()
        self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextFromHtml()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # noqa: BLE001 - hostile markup must still give text: fall back to stripping tags
        return html.unescape(re.sub(r"<[^>]*>", " ", markup))
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _ids(value: str) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value or "")


def _decode_part(part: MIMEPart) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, AssertionError, ValueError):
        payload = part.get_payload(decode=True) or b""
        content = (
            payload.decode(part.get_content_charset() or "utf-8", "replace")
            if isinstance(payload, bytes)
            else str(payload)
        )
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return str(content)


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _decode_part(part)
    if part.get_content_type() == "text/html":
        text = html_to_text(text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _attachments(message: EmailMessage) -> list[Attachment]:
    """Every file an email carries (core.email_files reads them, the same way as for a held email posted later)."""
    return [Attachment(name=f.name, content_type=f.declared_type, size=len(f.content), content=f.content,
                       content_id=f.content_id) for f in files_of_message(message)]


# Defects that mean the parts cannot be told apart; others (a missing MIME-Version, say) are harmless.
_FATAL_DEFECTS = {"NoBoundaryInMultipartDefect", "StartBoundaryNotFoundDefect", "MultipartInvariantViolationDefect"}


def synthetic_message_id(raw: bytes) -> str:
    """A stable Message-ID for mail that has none, so the same email twice is still recognised."""
    return f"<sha256-{hashlib.sha256(raw).hexdigest()[:40]}@threadline.invalid>"


ROUGH_TEXT_BYTES = 200_000  # enough for any message body the core stores (10,000 characters)


def rough_text(raw: bytes) -> str:
    """The body of an email that cannot be parsed (too big, broken): bytes after the header block, decoded leniently,
    so that an agent can still post what the person wrote."""
    head = raw[:ROUGH_TEXT_BYTES].replace(b"\r\n", b"\n")
    _headers, separator, body = head.partition(b"\n\n")
    return without_control_characters((body if separator else head).decode("utf-8", "replace")).strip()


def parse_email(raw: bytes, *, max_message_bytes: int = 25 * 1024 * 1024) -> ParsedEmail:
    """Parse raw bytes once; never raises: unreadable mail comes back with .error set.

    A large attachment does not refuse the email: the store lists it with the reason instead (core.attachments)."""
    if len(raw) > max_message_bytes:
        return ParsedEmail(raw=raw, message=None, message_id=synthetic_message_id(raw), text=rough_text(raw),
                           error=_("The email is {size} bytes; the limit is {limit} (mail.max_message_bytes).").format(
                               size=len(raw), limit=max_message_bytes))
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parsed = ParsedEmail(raw=raw, message=message)
        parsed.message_id = (_ids(parsed.header("Message-ID")) or [synthetic_message_id(raw)])[0]
        if len(parsed.message_id) > 900:  # longer than any real one and than the column: identify it by content
            parsed.message_id = synthetic_message_id(raw)
        name, address = parseaddr(parsed.header("From"))
        # People's text is cleaned here, once, so that no control character refuses the email later on.
        parsed.sender = address.strip()
        parsed.sender_name = " ".join(without_control_characters(name).split())[:MAX_NAME_CHARS].rstrip()
        subject = without_control_characters(parsed.header("Subject"))
        parsed.subject = " ".join(subject.split())
        for header in ("To", "Cc", "Delivered-To", "X-Original-To"):
            values = message.get_all(header) or []
            parsed.recipients += [addr for _name, addr in getaddresses([str(v) for v in values]) if addr]
        parsed.in_reply_to = _ids(parsed.header("In-Reply-To"))
        parsed.references = _ids(parsed.header("References"))
        parsed.text = without_control_characters(_body_text(message))
        parsed.attachments = _attachments(message)
    except Exception as exc:  # noqa: BLE001 - malformed MIME of any kind: refuse it with a reason, never crash the poller
        return ParsedEmail(raw=raw, message=None, message_id=synthetic_message_id(raw), text=rough_text(raw),
                           error=_("The email could not be read as MIME ({error}).").format(error=type(exc).__name__))
    broken = [d for d in getattr(message, "defects", []) if type(d).__name__ in _FATAL_DEFECTS]
    if broken:
        parsed.error = _("The email's MIME structure is broken ({defect}); it cannot be read reliably.").format(
            defect=type(broken[0]).__name__)
    if not parsed.sender:
        parsed.error = _("The email has no readable From address.")
    if parsed.error and not parsed.text.strip():
        parsed.text = rough_text(raw)  # what the person wrote stays postable even when the MIME is broken
    return parsed

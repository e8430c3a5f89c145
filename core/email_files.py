"""The files one email carries, read from its MIME parts: one reader for arrival and for posting a held email later."""
from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from email.message import Message

from core.i18n import _
from core.text import without_control_characters

# A delivery report's own parts describe the bounce; they are not files the person sent.
_REPORT_PARTS = ("message/delivery-status", "text/rfc822-headers", "message/rfc822")


@dataclass(frozen=True)
class EmailFile:
    """One file an email carries, as the mail side read it: name and type as declared, the bytes, its Content-ID."""

    name: str
    declared_type: str
    content: bytes = field(repr=False)
    content_id: str = ""


def files_of_message(message: Message) -> list[EmailFile]:
    """Every file an email carries, at any depth: attachments, and inline parts (images a multipart/related HTML
    body shows by cid:, Apple Mail's inline files); not the text and HTML parts that make up the body, and not a
    delivery report's own parts. An attached email is one file (its bytes), not opened."""
    if not message.is_multipart():
        return []
    report = message.get_content_type() == "multipart/report"
    found: list[EmailFile] = []

    def visit(part: Message) -> None:
        content_type = part.get_content_type()
        if content_type.startswith("multipart/"):
            children = part.get_payload()
            for child in children if isinstance(children, list) else []:
                if isinstance(child, Message):
                    visit(child)
            return
        if report and content_type in _REPORT_PARTS:
            return
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        if content_type in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            return  # a body part
        if content_type == "message/rfc822":
            inner = part.get_payload()
            content = inner[0].as_bytes() if isinstance(inner, list) and inner and isinstance(inner[0], Message) \
                else b""
        else:
            payload = part.get_payload(decode=True)
            content = payload if isinstance(payload, bytes) else str(part.get_payload()).encode("utf-8", "replace")
        name = without_control_characters(filename or "") or _("(unnamed)")
        content_id = " ".join(str(part.get("Content-ID", "")).split()).strip("<>")
        found.append(EmailFile(name=name, declared_type=content_type, content=content, content_id=content_id))

    visit(message)
    return found


def files_of_raw_email(raw: bytes) -> list[EmailFile]:
    """The files of a stored raw email (a held one an agent posts later); none when its MIME cannot be read, as on
    arrival, where such an email lists no files either."""
    try:
        return files_of_message(email.message_from_bytes(raw, policy=email.policy.default))
    except Exception:  # noqa: BLE001 - malformed MIME of any kind: the email is posted without files, never refused
        return []

"""Small classifiers of inbound mail: auto-replies, bounces (DSN), mail loops, mailer-daemon senders."""
from __future__ import annotations

import re
from email.message import Message

from mail.parsing import ParsedEmail

# Out-of-office subjects as Exchange, Gmail and others write them, in several languages.
_OUT_OF_OFFICE = re.compile(
    r"^\s*(automatic reply|auto[- ]?reply|autoreply|out of (the )?office|abwesenheitsnotiz|automatische antwort|"
    r"r[ée]ponse automatique|absence|respuesta autom[áa]tica|fuera de la oficina|resposta autom[áa]tica|"
    r"aus(ser|ßer) haus|ausser büro|automatisch antwoord|afwezig|risposta automatica|fuori sede|"
    r"自動応答|不在)",
    re.IGNORECASE,
)
_DAEMON_LOCALS = {"mailer-daemon", "postmaster", "mail-daemon", "maildaemon"}


def is_auto_reply(parsed: ParsedEmail) -> str:
    """The reason this email is an automatic reply (RFC 3834 and common headers), or '' if it is not."""
    auto_submitted = parsed.header("Auto-Submitted").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress-Autoreply"):
        if parsed.header(name):
            return f"{name}: {parsed.header(name).strip()}"
    precedence = parsed.header("Precedence").strip().lower()
    if precedence in ("auto_reply", "bulk", "junk"):
        return f"Precedence: {precedence}"
    if _OUT_OF_OFFICE.match(parsed.subject or ""):
        return f"out-of-office subject: {parsed.subject[:100]}"
    return ""


def is_mailer_daemon(address: str) -> bool:
    local = (address or "").rpartition("@")[0] if "@" in (address or "") else (address or "")
    return local.strip().lower() in _DAEMON_LOCALS


def _report_original_ids(message: Message) -> list[str]:
    """Message-IDs of the original email quoted inside a delivery report (message/rfc822 or rfc822-headers)."""
    ids: list[str] = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if inner is not None and inner.get("Message-ID"):
                ids += re.findall(r"<[^<>\s]+>", str(inner.get("Message-ID")))
        elif kind == "text/rfc822-headers":
            try:
                text = part.get_content()
            except Exception:
                text = str(part.get_payload())
            match = re.search(r"^Message-ID:\s*(<[^<>\s]+>)", str(text), re.IGNORECASE | re.MULTILINE)
            if match:
                ids.append(match.group(1))
    return ids


def bounce_original_id(parsed: ParsedEmail) -> tuple[bool, str]:
    """(is this a bounce or delivery report, the Message-ID of the original email if it can be found)."""
    message = parsed.message
    if message is None:
        return False, ""
    is_report = parsed.content_type == "multipart/report"
    if not is_report and not is_mailer_daemon(parsed.sender):
        return False, ""
    ids = _report_original_ids(message)
    if not ids:
        # Reports without a structured part still quote the original's headers in the text.
        found = re.findall(r"^\s*Message-ID:\s*(<[^<>\s]+>)", parsed.text, re.IGNORECASE | re.MULTILINE)
        ids = [i for i in found if i != parsed.message_id]
    if not ids and not is_report:
        return False, ""
    return True, ids[0] if ids else ""


def loop_reason(parsed: ParsedEmail, our_addresses: list[str], our_domain: str, sent_by_us: bool) -> str:
    """Why this email would make a mail loop (from our own address, or our Message-ID we did not send), or ''."""
    sender = (parsed.sender or "").lower()
    for address in our_addresses:
        local, _at, domain = address.lower().rpartition("@")
        if not local:
            continue
        if sender == address.lower() or (sender.endswith("@" + domain) and sender.split("@")[0].split("+")[0] == local):
            return f"sent from our own address {parsed.sender}"
    mid_domain = parsed.message_id.strip("<>").rpartition("@")[2].lower()
    if our_domain and mid_domain == our_domain.lower() and not sent_by_us:
        return f"Message-ID {parsed.message_id} is in our domain but was not sent by us"
    return ""

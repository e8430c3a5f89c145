"""Small classifiers of inbound mail: auto-replies, bounces (DSN), mail loops, mailer-daemon senders."""
from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage, Message

from core.addresses import mailbox_key, same_mailbox
from mail.parsing import ParsedEmail

# Out-of-office subject phrases as Exchange, Gmail and other responders write them, in the shipped languages (plus
# Dutch and Italian). A phrase counts only as whole words at the start of the subject (after Re:/AW:/...), and
# only together with a second signal: "Afwezigheid van factuur" or "Automatic reply from your system is wrong"
# are customers.
_SUBJECT_PHRASES = [
    # en
    r"automatic reply", r"auto[- ]?reply", r"automatic response", r"auto[- ]?response", r"out of (?:the )?office",
    r"vacation (?:reply|notice|response|message)", r"away from (?:the|my) office",
    # de
    r"abwesenheitsnotiz", r"abwesenheitsmeldung", r"automatische antwort", r"abwesend", r"au(?:ss|ß)er haus",
    r"nicht im büro",
    # fr
    r"r[ée]ponse automatique", r"absence", r"absente?", r"message d'absence", r"en cong[ée]s?",
    # es
    r"respuesta autom[áa]tica", r"fuera de (?:la )?oficina", r"ausente", r"de vacaciones",
    # pt
    r"resposta autom[áa]tica", r"fora do escrit[óo]rio", r"aus[êe]ncia", r"de f[ée]rias",
    # nl
    r"automatisch antwoord", r"afwezig", r"afwezigheidsbericht", r"buiten kantoor", r"niet aanwezig",
    # it
    r"risposta automatica", r"fuori sede", r"fuori ufficio",
    # pl
    r"odpowied[źz] automatyczna", r"automatyczna odpowied[źz]", r"poza biurem", r"nieobecno[śs][ćc]",
    r"nieobecn[ya]",
    # ja
    r"自動応答", r"自動返信", r"不在通知", r"不在のお知らせ", r"不在", r"休暇のお知らせ", r"外出中",
    # ar
    r"رد تلقائي", r"رد آلي", r"خارج المكتب",
]
# (?!\w) after the phrase: "Afwezigheid" is not "afwezig", "不在票" (a missed-delivery slip) is not "不在".
_OUT_OF_OFFICE_SUBJECT = re.compile(
    r"^\s*(?:(?:re|aw|sv|antw|fw|fwd|wg|tr|rv|enc|odp|返信)\s*[:：]\s*)*(" + "|".join(_SUBJECT_PHRASES) + r")(?!\w)",
    re.IGNORECASE,
)

# Sentences auto-responders write near the top, and people rarely do; looked for in the first lines only.
_RESPONDER_PHRASES = re.compile(
    "|".join([
        # en
        r"\bi(?: am|'m|’m) (?:currently |now )?(?:out of (?:the )?office|away(?: from (?:the|my) (?:office|desk))?|"
        r"on (?:vacation|holiday|holidays|leave|annual leave|parental leave|a business trip))\b[^.\n]{0,80}?"
        r"\b(?:until|till|through|returning|back on|and will (?:be back|return)|with (?:limited|no) access)",
        r"\bwith (?:limited|no) access to (?:my )?e-?mail",
        r"\bwill (?:respond|reply|get back to you)\b[^.\n]{0,40}\b(?:upon|on|after) my return",
        r"\bthis is an? (?:automatic(?:ally generated)?|auto-?generated|auto-?) ?(?:reply|response|message)",
        # de
        r"\bich bin\b[^\n]{0,50}?\b(?:nicht im büro|abwesend|im urlaub|au(?:ss|ß)er haus)",
        r"\bdies ist eine automatische (?:antwort|nachricht|e-?mail)",
        # fr
        r"\bje suis (?:actuellement )?(?:absente?|en cong[ée]s?|en vacances|hors du bureau)\b[^.\n]{0,60}?"
        r"\b(?:jusqu|du \d|au \d|et (?:serai|reviendrai))",
        r"\bceci est une r[ée]ponse automatique",
        # es
        r"\bestoy (?:actualmente )?(?:fuera de (?:la )?oficina|de vacaciones|ausente)\b[^.\n]{0,60}?"
        r"\b(?:hasta|del \d|y volver[ée])",
        r"\b[ée]sta es una respuesta autom[áa]tica",
        # pt
        r"\bestou (?:atualmente )?(?:fora do escrit[óo]rio|de f[ée]rias|ausente)\b[^.\n]{0,60}?"
        r"\b(?:at[ée]|e voltarei)",
        r"\besta [ée] uma resposta autom[áa]tica",
        # nl
        r"\bik ben\b[^.\n]{0,40}\b(?:afwezig|niet op kantoor|met vakantie|buiten kantoor)\b[^.\n]{0,40}?"
        r"\b(?:tot|t/m|terug)",
        r"\bdit is een automatisch (?:antwoord|bericht)",
        # it
        r"\bsono (?:fuori (?:sede|ufficio)|in ferie)\b[^.\n]{0,60}?\bfino",
        # pl
        r"\b(?:jestem|będę) (?:obecnie )?(?:poza biurem|na urlopie|nieobecn[ya])\b[^.\n]{0,60}?\bdo\b",
        r"\bto jest (?:wiadomo[śs][ćc]|odpowied[źz]) automatyczna",
        r"\bto jest automatyczna (?:odpowied[źz]|wiadomo[śs][ćc])",
        # ja
        r"不在にしております", r"休暇をいただいております", r"休暇を取得しております", r"自動応答メッセージ",
        r"自動返信メール(?:です|にて)",
        # ar
        r"أنا خارج المكتب", r"هذا رد تلقائي",
    ]),
    re.IGNORECASE,
)
RESPONDER_LINES = 6  # auto-responders say it at once; a customer's story further down is not evidence

# Local parts that only responders send from.
_VACATION_SENDER = re.compile(
    r"^(?:no-?reply|do-?not-?reply|donotreply|auto-?reply|auto-?responder|autoresponder|auto-?response|vacation|"
    r"out-?of-?office|abwesenheit|absence)(?:[+._-].*)?$",
    re.IGNORECASE,
)
_DAEMON_LOCALS = {"mailer-daemon", "postmaster", "mail-daemon", "maildaemon"}
QUICK_REPLY_SECONDS = 60  # an answer this soon after our email was written by a machine, not a person


def auto_reply_header(parsed: ParsedEmail) -> str:
    """The header that marks this email as automatic (RFC 3834, the common X- headers, Exchange's), or ''."""
    auto_submitted = parsed.header("Auto-Submitted").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "X-MS-Exchange-Inbox-Rules-Loop"):
        if parsed.header(name).strip():
            return f"{name}: {parsed.header(name).strip()[:100]}"
    precedence = parsed.header("Precedence").strip().lower()
    if precedence in ("auto_reply", "bulk", "junk"):
        return f"Precedence: {precedence}"
    # RFC 3834 5.1: responders send with an empty envelope sender. Bounces do too; routing looks at them first.
    return_paths = (parsed.message.get_all("Return-Path") or []) if parsed.message is not None else []
    if any(str(value).strip() == "<>" for value in return_paths):
        return "Return-Path: <>"
    return ""


def auto_reply_subject(subject: str) -> str:
    """The out-of-office phrase the subject starts with, as whole words, or ''."""
    match = _OUT_OF_OFFICE_SUBJECT.match(subject or "")
    return match.group(1) if match else ""


def auto_responder_phrase(text: str) -> str:
    """A sentence auto-responders write, found in the first lines of the text, or ''."""
    lines = [line for line in (text or "").splitlines() if line.strip()][:RESPONDER_LINES]
    match = _RESPONDER_PHRASES.search("\n".join(lines))
    return match.group(0) if match else ""


def is_vacation_sender(address: str) -> bool:
    """Whether the address's local part is one only responders use (vacation@, noreply@, autoreply@ ...)."""
    local = (address or "").rpartition("@")[0]
    return bool(local and _VACATION_SENDER.match(local))


def is_auto_reply(parsed: ParsedEmail, reply_delay: Callable[[], float | None] | None = None) -> str:
    """The evidence that this email is an automatic reply, or '' if there is not enough of it.

    A header is enough on its own. An out-of-office subject needs a second signal: a known responder sentence,
    an answer within QUICK_REPLY_SECONDS of our email (reply_delay: seconds from our email to this one's Date,
    asked only when needed), or a responder's sender address.
    """
    header = auto_reply_header(parsed)
    if header:
        return header
    subject = auto_reply_subject(parsed.subject)
    if not subject:
        return ""
    phrase = auto_responder_phrase(parsed.text)
    if phrase:
        return f"out-of-office subject {subject!r} and the sentence {phrase[:80]!r}"
    if is_vacation_sender(parsed.sender):
        return f"out-of-office subject {subject!r} from {parsed.sender}"
    delay = reply_delay() if reply_delay is not None else None
    if delay is not None and abs(delay) <= QUICK_REPLY_SECONDS:
        return f"out-of-office subject {subject!r}, {delay:.0f} s after our email"
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
            if isinstance(inner, Message) and inner.get("Message-ID"):
                ids += re.findall(r"<[^<>\s]+>", str(inner.get("Message-ID")))
        elif kind == "text/rfc822-headers":
            try:
                text = part.get_content() if isinstance(part, EmailMessage) else part.get_payload()
            except Exception:  # noqa: BLE001 - hostile MIME can break get_content() any way; use the raw payload
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
    # Compared as core compares addresses everywhere (normalized, then lowercased), so an IDNA or a differently
    # written form of our own address is still ours.
    sender = mailbox_key(parsed.sender) or (parsed.sender or "").lower()
    sender_local, _at, sender_domain = sender.rpartition("@")
    for address in our_addresses:
        ours = mailbox_key(address) or address.lower()
        local, _at, domain = ours.rpartition("@")
        if not local:
            continue
        if same_mailbox(sender, ours) or (sender_domain == domain and sender_local.split("+")[0] == local):
            return f"sent from our own address {parsed.sender}"
    mid_domain = parsed.message_id.strip("<>").rpartition("@")[2].lower()
    if our_domain and mid_domain == our_domain.lower() and not sent_by_us:
        return f"Message-ID {parsed.message_id} is in our domain but was not sent by us"
    return ""

"""Routing: the first matching outcome for a parsed email, and filing raw bytes through core.inbound in one call."""
from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from sqlmodel import Session

from core.clock import Clock
from core.config import Config
from core.email_files import EmailFile
from core.end_users import EndUserService
from core.i18n import _
from core.inbound import InboundService, IncomingEmail, Verdict
from core.models import InboundEmail, InboundOutcome
from core.opt_outs import job_of_unsubscribe_token
from core.outbox import OutboxService
from core.settings import SettingsService
from core.tokens import InvalidToken, TokenSigner
from mail.classify import bounce_original_id, is_auto_reply, is_mailer_daemon, loop_reason
from mail.parsing import ParsedEmail, parse_email
from mail.quotes import strip_quotes
from mail.reply_threading import match_thread


@dataclass
class RoutingContext:
    support_address: str
    message_id_domain: str
    signer: TokenSigner | None


def unsubscribe_request_job(parsed: ParsedEmail, signer: TokenSigner | None, support_address: str) -> int | None:
    """The outbox job whose List-Unsubscribe mailto (`...unsubscribe-TOKEN@our domain`) this email was sent to."""
    domain = support_address.rpartition("@")[2].lower()
    if signer is None or not domain:
        return None
    for address in parsed.recipients:
        local, _at, recipient_domain = address.strip().lower().rpartition("@")
        marker = local.rfind("unsubscribe-")
        if recipient_domain != domain or marker < 0:
            continue
        try:
            return job_of_unsubscribe_token(signer, local[marker + len("unsubscribe-"):])
        except InvalidToken:
            continue
    return None


def seconds_after_our_email(parsed: ParsedEmail, service: InboundService) -> float | None:
    """Seconds from the sending of our email this one answers to this one's Date header, or None if unknown."""
    try:
        written = parsedate_to_datetime(parsed.header("Date"))
    except (TypeError, ValueError, IndexError):
        return None
    if written is None or written.tzinfo is None:
        return None
    outbox = OutboxService(service.session, service.clock)
    for message_id in parsed.in_reply_to + parsed.references[::-1]:
        job = outbox.by_message_id(message_id)
        if job is not None and job.sent_at is not None:
            return (written - job.sent_at).total_seconds()
    return None


def _suggested_conversation(parsed: ParsedEmail, context: RoutingContext, service: InboundService) -> int | None:
    """The conversation an email that is not posted would belong to: where an agent's one key posts it."""
    sent_conversation = service.conversation_for_sent_message_id
    match = match_thread(parsed, context.signer, context.support_address, sent_conversation, context.message_id_domain)
    if match.conversation_id is None or service.conversation_end_user(match.conversation_id) is None:
        return None
    return match.conversation_id


def route(parsed: ParsedEmail, context: RoutingContext, service: InboundService) -> Verdict:
    """Unreadable mail, bounces, refused kinds (loop, mailer-daemon), unsubscribe requests, auto-replies, blocked
    senders, then threading.

    Bounces are looked at before the loop and mailer-daemon rules because reports come from mailer-daemon@ and
    may carry a Message-ID of our own domain's MTA; auto-replies
    before threading because an out-of-office answer carries our token too.
    """
    if parsed.error:
        return Verdict(InboundOutcome.refused, parsed.error)
    sent_conversation = service.conversation_for_sent_message_id
    is_bounce, original = bounce_original_id(parsed)
    if is_bounce:
        if original and sent_conversation(original) is not None:
            return Verdict(InboundOutcome.bounce, _("Delivery failed for {id}: {subject}").format(
                id=original, subject=parsed.subject), bounced_message_id=original)
        return Verdict(InboundOutcome.refused, _("A delivery report about an email this outbox did not send."))
    loop = loop_reason(parsed, [context.support_address] if context.support_address else [],
                       context.message_id_domain, sent_conversation(parsed.message_id) is not None)
    if loop:
        return Verdict(InboundOutcome.refused, _("Mail loop guard: {reason}.").format(reason=loop))
    if is_mailer_daemon(parsed.sender):
        return Verdict(InboundOutcome.refused, _("Mail from {sender} is never posted.").format(sender=parsed.sender))
    opt_out_job = unsubscribe_request_job(parsed, context.signer, context.support_address)
    if opt_out_job is not None:
        # Before auto-replies: a mail client may send the RFC 8058 mailto request marked as automatic.
        return Verdict(InboundOutcome.refused, _("A request to stop notification emails; they are stopped."),
                       opt_out_job_id=opt_out_job)
    auto = is_auto_reply(parsed, reply_delay=lambda: seconds_after_our_email(parsed, service))
    if auto:
        return Verdict(InboundOutcome.auto_reply, _("Automatic reply ({why}).").format(why=auto),
                       conversation_id=_suggested_conversation(parsed, context, service))
    if EndUserService(service.session, service.clock).blocks_mail_from(parsed.sender):
        return Verdict(InboundOutcome.refused, _("The sender {sender} is blocked.").format(sender=parsed.sender),
                       conversation_id=_suggested_conversation(parsed, context, service))
    match = match_thread(parsed, context.signer, context.support_address, sent_conversation, context.message_id_domain)
    if match.conversation_id is not None:
        end_user = service.conversation_end_user(match.conversation_id)
        if end_user is None:
            return Verdict(InboundOutcome.refused, _("The conversation this email answers no longer exists."))
        if end_user.blocked:
            return Verdict(InboundOutcome.refused, _("The sender {sender} is blocked.").format(sender=parsed.sender),
                           conversation_id=match.conversation_id)
        if not service.is_end_users_address(match.conversation_id, parsed.sender):
            return Verdict(InboundOutcome.held, _(
                "The reply to conversation {id} came from {sender}, not from the end user's address; "
                "accept or reject it.").format(id=match.conversation_id, sender=parsed.sender),
                conversation_id=match.conversation_id)
        return Verdict(InboundOutcome.posted, _("Matched by {via}.").format(via=match.via),
                       conversation_id=match.conversation_id)
    if match.bad_token:
        return Verdict(InboundOutcome.refused, _("The reply token {token!r} failed verification.").format(
            token=match.bad_token[:80]))
    return Verdict(InboundOutcome.new_conversation, _("No conversation matched; a new one was started."))


def incoming_from(parsed: ParsedEmail, mailbox: str, uidvalidity: int, uid: int) -> IncomingEmail:
    return IncomingEmail(
        message_id=parsed.message_id, sender=parsed.sender, raw=parsed.raw, mailbox=mailbox,
        uidvalidity=uidvalidity, uid=uid, sender_name=parsed.sender_name or None, subject=parsed.subject,
        text=strip_quotes(parsed.text) if parsed.text else "", original_text=parsed.text,
        attachments=[a.describe() for a in parsed.attachments],
        files=[EmailFile(a.name, a.content_type, a.content, a.content_id) for a in parsed.attachments])


def file_raw_email(session: Session, clock: Clock, config: Config, signer: TokenSigner | None, raw: bytes, *,
                   mailbox: str = "", uidvalidity: int = 0, uid: int = 0) -> InboundEmail:
    """Parse, route and file one email: the record, its message and the mailbox's last UID commit together."""
    parsed = parse_email(raw, max_message_bytes=config.mail.max_message_bytes)
    service = InboundService(session, clock, window_max=config.mail.sender_window_max,
                             window_seconds=config.mail.sender_window_seconds,
                             max_attachment_bytes=config.attachments.max_bytes)
    support = SettingsService(session, clock).load().support_address
    domain = config.mail.message_id_domain or support.rpartition("@")[2]
    verdict = route(parsed, RoutingContext(support, domain, signer), service)
    return service.file(incoming_from(parsed, mailbox, uidvalidity, uid), verdict)

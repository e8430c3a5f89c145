"""`threadline send-test-email ADDRESS [--lang xx]`: send a real notification from a new test conversation."""
from __future__ import annotations

import argparse
import asyncio

from core.addresses import normalize_email
from core.errors import PreconditionFailed, ThreadlineError
from core.i18n import _, negotiate, translations
from core.mail_check import MailCheckService
from core.models import OutboxJob
from core.outbox import OutboxService
from core.settings import SettingsService
from mail.compose import OutgoingEmail, outgoing
from mail.notification_content import NotificationGatherer, message_id_domain
from mail.sender import SmtpPool, classify_failure, send_outgoing
from threadline.context import AppContext


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "send-test-email", help=_("send a test notification email"),
        description=_("Start a test conversation with ADDRESS and send its notification through the configured SMTP "
                      "server, exactly as a real one goes out (signed, with a reply address and a return link). "
                      "Answer it to check that replies reach the console."),
    )
    parser.add_argument("address", metavar="ADDRESS", help=_("where to send it"))
    parser.add_argument("--lang", metavar="LANG", default=None,
                        help=_("language of the email (default: the account's default language)"))
    return parser


async def _send(context: AppContext, email: OutgoingEmail) -> str:
    pool = SmtpPool(context.config.smtp, size=1)
    try:
        async with pool.connection() as client:
            return await send_outgoing(client, email)
    finally:
        await pool.close()


def _compose(context: AppContext, address: str, language: str) -> tuple[int, OutgoingEmail]:
    """The test conversation and its job, stored, and the email composed from them as the sender would."""
    from mail.dkim_signing import DkimSigner  # the DKIM library loads a DNS library, which no other command needs

    dkim = DkimSigner.from_config(context.config.mail)  # a broken DKIM setting stops here, before anything is stored
    with context.db.session() as session:
        settings = SettingsService(session, context.clock).load()
        if not settings.support_address:
            raise PreconditionFailed(_("No support address is set; set one in the account settings before emails "
                                       "can be sent."))
        body = translations(language).gettext(
            "This is a test email from {brand}. Reply to it: your answer should appear in the agent console, in "
            "this same conversation.").format(brand=settings.brand_name)
        job = MailCheckService(session, context.clock, context.signer).create(
            address, language, body, message_id_domain(context.config, settings.support_address))
        now = context.clock.now()
        stored = session.get(OutboxJob, job.id)
        if stored is None or stored.id is None:
            raise RuntimeError(f"outbox job {job.id} vanished inside its own transaction")
        email = outgoing(NotificationGatherer(session, context.config, context.signer, now).gather(stored), now)
        return stored.id, dkim.sign_email(email) if dkim is not None else email


def _record(context: AppContext, job_id: int, response: str | None, failure: str | None) -> None:
    with context.db.session() as session:
        outbox = OutboxService(session, context.clock)
        if failure is None:
            outbox.mark_sent(job_id, response)
        else:
            outbox.mark_failed(job_id, failure)


def run(args: argparse.Namespace, context: AppContext) -> int:
    address = normalize_email(args.address)
    with context.db.read_session() as session:
        default_language = SettingsService(session, context.clock).load().default_language
    language = negotiate(args.lang, default_language)
    job_id, email = _compose(context, address, language)
    smtp = context.config.smtp
    try:
        response = asyncio.run(_send(context, email))
    except Exception as exc:  # noqa: BLE001 - classify_failure explains any failure; it is recorded on the job
        reason = classify_failure(job_id, exc, address).detail or str(exc)
        _record(context, job_id, None, reason)
        raise ThreadlineError(_("Could not send the test email through {host}:{port}: {reason}").format(
            host=smtp.host, port=smtp.port, reason=reason)) from None
    _record(context, job_id, response, None)
    print(_("Sent a test notification in {language} to {address} through {host}:{port}.").format(
        language=language, address=address, host=smtp.host, port=smtp.port))
    print(_("Message-ID: {id}; the server answered: {response}").format(id=email.message_id, response=response))
    print(_("Answer it: the reply should appear in the console, in the new conversation with {address}.").format(
        address=address))
    return 0

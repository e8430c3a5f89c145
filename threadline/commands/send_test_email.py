"""`threadline send-test-email ADDRESS [--lang xx]`: send a sample notification, to check a real mail server's setup."""
from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta

from core.addresses import normalize_email
from core.errors import PreconditionFailed, ThreadlineError
from core.i18n import _, negotiate
from core.settings import SettingsService
from core.outbox import notification_message_id
from mail.compose import message_id_domain, outgoing
from mail.dkim_signing import DkimSigner
from mail.overrides import sample_content
from mail.sender import SmtpPool, classify_failure, send_outgoing
from threadline.context import AppContext


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "send-test-email", help=_("send a sample notification email"),
        description=_("Compose a sample notification email (with sample messages) and send it through the configured "
                      "SMTP server, to check the mail setup. Nothing is stored."),
    )
    parser.add_argument("address", metavar="ADDRESS", help=_("where to send it"))
    parser.add_argument("--lang", metavar="LANG", default=None,
                        help=_("language of the email (default: the account's default language)"))
    return parser


async def _send(context: AppContext, email) -> str:  # noqa: ANN001
    pool = SmtpPool(context.config.smtp, size=1)
    try:
        async with pool.connection() as client:
            return await send_outgoing(client, email)
    finally:
        await pool.close()


def run(args: argparse.Namespace, context: AppContext) -> int:
    address = normalize_email(args.address)
    with context.db.read_session() as session:
        settings = SettingsService(session, context.clock).load()
    if not settings.support_address:
        raise PreconditionFailed(_("No support address is set; set one in the account settings before emails can be sent."))
    language = negotiate(args.lang, settings.default_language)
    now = context.clock.now()
    content = sample_content(language, settings.brand_name, settings.support_address, now=now - timedelta(minutes=1),
                             config=context.config)
    content.to_address = address
    content.to_name = None
    content.message_id = notification_message_id(context.signer.reply_token(0),
                                                 message_id_domain(context.config, settings.support_address))
    email = outgoing(content, now)
    dkim = DkimSigner.from_config(context.config.mail)
    if dkim is not None:
        email = dkim.sign_email(email)
    smtp = context.config.smtp
    try:
        response = asyncio.run(_send(context, email))
    except Exception as exc:
        reason = classify_failure(0, exc, address).detail
        raise ThreadlineError(_("Could not send the test email through {host}:{port}: {reason}").format(
            host=smtp.host, port=smtp.port, reason=reason)) from None
    print(_("Sent a test notification in {language} to {address} through {host}:{port}.").format(
        language=language, address=address, host=smtp.host, port=smtp.port))
    print(_("Message-ID: {id}; the server answered: {response}").format(id=email.message_id, response=response))
    return 0

"""What an SMTP failure concerns: the server or our account (pause the sender) or one email (fail or retry its job)."""
from __future__ import annotations

import asyncio
import re
import ssl
from dataclasses import dataclass
from enum import StrEnum

from aiosmtplib import (
    SMTPAuthenticationError,
    SMTPConnectResponseError,
    SMTPDataError,
    SMTPException,
    SMTPHeloError,
    SMTPNotSupported,
    SMTPRecipientRefused,
    SMTPRecipientsRefused,
    SMTPResponseException,
    SMTPSenderRefused,
)

from core.i18n import _


class SmtpStage(StrEnum):
    """Where in the SMTP conversation the failure came (RFC 5321 order)."""

    connect = "connect"      # TCP connection, implicit TLS, timeouts and dropped connections
    greeting = "greeting"    # the server's first reply
    hello = "hello"          # EHLO / HELO
    tls = "tls"              # STARTTLS, or the handshake of implicit TLS
    auth = "auth"
    session = "session"      # a command outside one email's transaction (NOOP, RSET)
    mail_from = "mail_from"
    rcpt_to = "rcpt_to"
    data = "data"


class FaultScope(StrEnum):
    server = "server"  # every email would fail the same way: pause the sender, keep every job queued
    email = "email"    # this email or its recipient: fail or retry that job alone


# Before MAIL FROM nothing of an email has been said, so a refusal there can only concern the server or us.
_SESSION_STAGES = {SmtpStage.connect, SmtpStage.greeting, SmtpStage.hello, SmtpStage.tls, SmtpStage.auth,
                   SmtpStage.session}
# Replies that speak of the server or the account wherever they come (RFC 5321 4.2.3, RFC 4954 6, RFC 3207 4):
# 421 closing the channel, 454 TLS or login temporarily unavailable, 530 login required,
# 534 mechanism too weak, 535 credentials invalid, 538 encryption required.
_SERVER_CODES = {421, 454, 530, 534, 535, 538}
# RFC 3463 / the IANA registry: X.7.8 credentials invalid, X.7.9 mechanism too weak, X.7.10 encryption needed,
# X.7.11 encryption required, X.7.12 password transition needed: about our login, never the recipient.
_SERVER_ENHANCED_DETAILS = {("7", "8"), ("7", "9"), ("7", "10"), ("7", "11"), ("7", "12")}
_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})(?!\S)")


def enhanced_status(message: str) -> str | None:
    """The RFC 3463 enhanced status code a reply text starts with ("5.1.1"), or None."""
    match = _ENHANCED.match(message or "")
    return ".".join(match.groups()) if match else None


@dataclass(frozen=True)
class SmtpFault:
    """One classified failure: where it came, whom it concerns, whether trying again can help."""

    stage: SmtpStage
    scope: FaultScope
    permanent: bool
    code: int | None = None
    enhanced: str | None = None
    reply: str = ""  # the server's reply text, or the error for failures without a reply

    @property
    def pauses_sender(self) -> bool:
        return self.scope is FaultScope.server

    @property
    def answer(self) -> str:
        """The server's answer as it came ("550 5.1.1 No such user"), or the error text."""
        return f"{self.code} {self.reply}".strip() if self.code is not None else self.reply

    def explanation(self) -> str:
        """A sentence for agents and operators: what went wrong and what fixes it."""
        answer = self.answer
        if self.scope is FaultScope.email:
            if self.permanent:
                return _("The mail server refused the email: {reason}").format(reason=answer)
            return answer
        if self.stage is SmtpStage.connect:
            return _("The mail server cannot be reached ({error}). Check that it is running and that [smtp] host "
                     "and port are right.").format(error=answer)
        if self.stage is SmtpStage.tls:
            return _("The TLS connection to the mail server failed ({error}). Check [smtp] tls, and [smtp] ca_file "
                     "if the server's certificate comes from a private authority.").format(error=answer)
        if self.code == 530 or (self.enhanced in ("5.7.0", "4.7.0") and self.stage is SmtpStage.mail_from):
            return _("The mail server asks for a login ({reply}). Set [smtp] username and password.").format(
                reply=answer)
        if self.stage is SmtpStage.auth or self.code in (534, 535, 538):
            return _("The mail server refused our login ({reply}). Check [smtp] username and password.").format(
                reply=answer)
        if not self.permanent:
            return _("The mail server is unavailable for now ({reply}).").format(reply=answer)
        if self.stage is SmtpStage.greeting:
            return _("The mail server refuses connections from this machine ({reply}). Ask its administrator to "
                     "allow it, or set another server in [smtp].").format(reply=answer)
        if self.stage is SmtpStage.hello:
            return _("The mail server refused our greeting ({reply}). Ask its administrator to allow this machine, "
                     "or set another server in [smtp].").format(reply=answer)
        if self.stage is SmtpStage.mail_from:
            return _("The mail server refused our sender address ({reply}). Check the support address in the "
                     "settings and that the [smtp] account may send from it.").format(reply=answer)
        return _("The mail server refused to work with us ({reply}). Check the [smtp] settings.").format(reply=answer)


def classify_reply(stage: SmtpStage, code: int, message: str) -> SmtpFault:
    """Classify a refusal by the stage it came at, its reply code and its enhanced status code.

    Before MAIL FROM everything concerns the server. At MAIL FROM the envelope sender is ours and the same for
    every email, so a refusal there concerns us too, except "message too big" (552, X.3.4) and refused
    parameters (555, e.g. SMTPUTF8), which depend on the email. At RCPT TO and DATA a refusal concerns the email,
    unless its code speaks of the channel or the login (421, 530, X.7.8, ...).
    """
    enhanced = enhanced_status(message)
    permanent = code >= 500
    detail = tuple(enhanced.split(".")[1:]) if enhanced else None
    server = (stage in _SESSION_STAGES or code in _SERVER_CODES or detail in _SERVER_ENHANCED_DETAILS
              or (code < 200 or code >= 600))  # a reply that is not SMTP at all says nothing about the email
    if stage is SmtpStage.mail_from and not server:
        about_email = code in (552, 555) or detail == ("3", "4")
        server = not about_email
    return SmtpFault(stage, FaultScope.server if server else FaultScope.email, permanent, code, enhanced, message)


def _tls_trouble(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def fault_of(exc: BaseException, *, opening: bool = False) -> SmtpFault:
    """Classify an exception from aiosmtplib; opening: it came while connecting (greeting, EHLO, STARTTLS, login)."""
    if isinstance(exc, SMTPRecipientsRefused):
        refusal = exc.recipients[0] if exc.recipients else SMTPRecipientRefused(550, str(exc), "")
        return classify_reply(SmtpStage.rcpt_to, refusal.code, refusal.message)
    if isinstance(exc, SMTPResponseException):
        if isinstance(exc, SMTPConnectResponseError):
            stage = SmtpStage.greeting
        elif isinstance(exc, SMTPHeloError):
            stage = SmtpStage.hello
        elif isinstance(exc, SMTPAuthenticationError):
            stage = SmtpStage.auth
        elif isinstance(exc, SMTPSenderRefused):
            stage = SmtpStage.mail_from
        elif isinstance(exc, SMTPRecipientRefused):
            stage = SmtpStage.rcpt_to
        elif isinstance(exc, SMTPDataError):
            stage = SmtpStage.data
        else:  # while connecting only STARTTLS answers with a bare response error
            stage = SmtpStage.tls if opening else SmtpStage.session
        return classify_reply(stage, exc.code, exc.message)
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, SMTPNotSupported) and "SMTPUTF8" in str(exc):
        # Only emails to a non-ASCII address ask for SMTPUTF8: the others still go through this server.
        return SmtpFault(SmtpStage.mail_from, FaultScope.email, True, reply=text)
    if _tls_trouble(exc):
        return SmtpFault(SmtpStage.tls, FaultScope.server, False, reply=text)
    if isinstance(exc, (ConnectionError, TimeoutError, asyncio.TimeoutError, OSError)):
        return SmtpFault(SmtpStage.connect, FaultScope.server, False, reply=text)
    if isinstance(exc, SMTPException):
        # aiosmtplib's own refusals while connecting: the server offers no STARTTLS, or no AUTH, as configured.
        message = str(exc).upper()
        stage = (SmtpStage.tls if "STARTTLS" in message else SmtpStage.auth if "AUTH" in message
                 else SmtpStage.hello if opening else SmtpStage.session)
        return SmtpFault(stage, FaultScope.server, True, reply=text)
    # Anything else is no news about the server (a bug, an unencodable email): retry that job alone, which
    # counts its attempts, so it cannot hold up the others for ever.
    return SmtpFault(SmtpStage.session, FaultScope.email, False, reply=text)

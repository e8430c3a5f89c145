"""The SMTP failure classifier (pure): by stage, reply code and enhanced status code; and the sender's pause."""
from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtplib import (
    SMTPAuthenticationError,
    SMTPConnectError,
    SMTPConnectResponseError,
    SMTPConnectTimeoutError,
    SMTPDataError,
    SMTPException,
    SMTPHeloError,
    SMTPNotSupported,
    SMTPReadTimeoutError,
    SMTPRecipientRefused,
    SMTPRecipientsRefused,
    SMTPResponseException,
    SMTPSenderRefused,
    SMTPServerDisconnected,
)

from mail.sender_pause import SenderPause
from mail.smtp_faults import FaultScope, SmtpStage, classify_reply, enhanced_status, fault_of

S, E = FaultScope.server, FaultScope.email

REPLIES = [
    # stage, code, text -> scope, permanent
    (SmtpStage.greeting, 554, "5.7.1 No SMTP service here", S, True),
    (SmtpStage.greeting, 421, "4.3.2 Service not available", S, False),
    (SmtpStage.hello, 550, "Not from your network", S, True),
    (SmtpStage.tls, 454, "4.7.0 TLS not available due to local problem", S, False),
    (SmtpStage.auth, 535, "5.7.8 Authentication credentials invalid", S, True),
    (SmtpStage.auth, 454, "4.7.0 Temporary authentication failure", S, False),
    (SmtpStage.mail_from, 530, "5.7.0 Authentication required", S, True),
    (SmtpStage.mail_from, 550, "5.7.1 Sender address rejected", S, True),
    (SmtpStage.mail_from, 553, "5.1.8 Sender domain does not exist", S, True),
    (SmtpStage.mail_from, 451, "4.3.0 Local error in processing", S, False),
    (SmtpStage.mail_from, 552, "5.3.4 Message size exceeds fixed limit", E, True),  # this email is too big
    (SmtpStage.mail_from, 555, "5.5.4 SMTPUTF8 not recognized", E, True),  # only this email asked for it
    (SmtpStage.rcpt_to, 550, "5.1.1 No such mailbox", E, True),
    (SmtpStage.rcpt_to, 550, "5.7.1 Recipient rejected by policy", E, True),
    (SmtpStage.rcpt_to, 452, "4.2.2 Mailbox full", E, False),
    (SmtpStage.rcpt_to, 450, "4.2.0 Greylisted, try again later", E, False),
    (SmtpStage.rcpt_to, 421, "4.7.0 Closing connection", S, False),  # 421 closes the channel wherever it comes
    (SmtpStage.rcpt_to, 530, "5.7.0 Authentication required", S, True),
    (SmtpStage.rcpt_to, 550, "5.7.8 Authentication credentials invalid", S, True),  # X.7.8 is about our login
    (SmtpStage.data, 554, "5.6.0 Message content rejected", E, True),
    (SmtpStage.data, 554, "5.7.1 Message rejected as spam", E, True),
    (SmtpStage.data, 451, "4.3.0 Temporary local problem", E, False),
    (SmtpStage.data, 421, "4.7.0 Try again later, closing connection", S, False),
    (SmtpStage.data, 538, "5.7.11 Encryption required", S, True),
    (SmtpStage.session, 500, "Command unrecognized", S, True),
    (SmtpStage.data, -1, "Malformed SMTP response line: xyz", S, False),  # not SMTP: nothing to blame the email for
]


@pytest.mark.parametrize(("stage", "code", "text", "scope", "permanent"), REPLIES,
                         ids=[f"{r[0]}-{r[1]}-{r[2][:12]}" for r in REPLIES])
def test_replies_are_classified_by_stage_code_and_enhanced_code(stage, code, text, scope, permanent):
    fault = classify_reply(stage, code, text)
    assert (fault.scope, fault.permanent) == (scope, permanent)
    assert fault.pauses_sender is (scope is S)
    assert str(code) in fault.explanation() and text in fault.explanation()


def test_enhanced_status_codes_are_read_only_at_the_start():
    assert enhanced_status("5.1.1 <x@example.org>: Recipient address rejected") == "5.1.1"
    assert enhanced_status("4.7.0") == "4.7.0"
    assert enhanced_status("Requested action aborted 5.1.1") is None
    assert enhanced_status("5.1.1.3 weird") is None
    assert enhanced_status("") is None


def _caused(exc: BaseException, cause: BaseException) -> BaseException:
    exc.__cause__ = cause
    return exc


EXCEPTIONS = [
    # exception, raised while opening the connection -> stage, scope
    (SMTPConnectError("Error connecting to 127.0.0.1 on port 25: [Errno 111] refused"), True, SmtpStage.connect, S),
    (SMTPConnectTimeoutError("Timed out connecting"), True, SmtpStage.connect, S),
    (SMTPServerDisconnected("Unexpected EOF received"), False, SmtpStage.connect, S),
    (SMTPReadTimeoutError("Timed out waiting for server response"), False, SmtpStage.connect, S),
    (TimeoutError(), False, SmtpStage.connect, S),
    (ConnectionResetError(104, "reset by peer"), False, SmtpStage.connect, S),
    (SMTPConnectResponseError(554, "5.7.1 No service"), True, SmtpStage.greeting, S),
    (SMTPHeloError(501, "Bad hostname"), True, SmtpStage.hello, S),
    (SMTPResponseException(454, "4.7.0 TLS not available"), True, SmtpStage.tls, S),
    (SMTPException("SMTP STARTTLS extension not supported by server."), True, SmtpStage.tls, S),
    (ssl.SSLCertVerificationError(1, "certificate verify failed"), True, SmtpStage.tls, S),
    (_caused(SMTPConnectError("Error connecting"), ssl.SSLError(1, "wrong version number")), True, SmtpStage.tls, S),
    (SMTPAuthenticationError(535, "5.7.8 Authentication credentials invalid"), True, SmtpStage.auth, S),
    (SMTPException("The SMTP AUTH extension is not supported by this server."), True, SmtpStage.auth, S),
    (SMTPSenderRefused(530, "5.7.0 Authentication required", "help@example.com"), False, SmtpStage.mail_from, S),
    (SMTPSenderRefused(552, "5.3.4 Message too big", "help@example.com"), False, SmtpStage.mail_from, E),
    (SMTPRecipientsRefused([SMTPRecipientRefused(550, "5.1.1 No such user", "x@example.org")]), False,
     SmtpStage.rcpt_to, E),
    (SMTPRecipientsRefused([SMTPRecipientRefused(452, "4.2.2 Mailbox full", "x@example.org")]), False,
     SmtpStage.rcpt_to, E),
    (SMTPDataError(554, "5.6.0 Content rejected"), False, SmtpStage.data, E),
    (SMTPNotSupported("SMTPUTF8 is not supported by this server"), False, SmtpStage.mail_from, E),
    (ValueError("an email that cannot be encoded"), False, SmtpStage.session, E),  # a bug: that job, counted
]


@pytest.mark.parametrize(("exc", "opening", "stage", "scope"), EXCEPTIONS,
                         ids=[f"{type(e[0]).__name__}-{e[2]}" for e in EXCEPTIONS])
def test_aiosmtplib_exceptions_map_to_their_stage(exc, opening, stage, scope):
    fault = fault_of(exc, opening=opening)
    assert (fault.stage, fault.scope) == (stage, scope)


@pytest.mark.parametrize(("fault", "words"), [
    (fault_of(SMTPConnectError("Error connecting: refused"), opening=True), ["reached", "[smtp] host and port"]),
    (fault_of(ssl.SSLCertVerificationError(1, "certificate verify failed"), opening=True), ["TLS", "ca_file"]),
    (classify_reply(SmtpStage.auth, 535, "5.7.8 Bad credentials"), ["login", "username and password"]),
    (classify_reply(SmtpStage.mail_from, 530, "5.7.0 Authentication required"), ["login", "username and password"]),
    (classify_reply(SmtpStage.greeting, 554, "No service"), ["refuses connections", "administrator"]),
    (classify_reply(SmtpStage.mail_from, 550, "5.7.1 Not yours"), ["sender address", "support address"]),
    (classify_reply(SmtpStage.greeting, 421, "Busy"), ["unavailable for now"]),
    (classify_reply(SmtpStage.rcpt_to, 550, "5.1.1 No such user"), ["refused the email"]),
])
def test_explanations_name_the_problem_and_the_fix(fault, words):
    text = fault.explanation()
    assert all(word in text for word in words), text


T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_the_pause_backs_off_with_jitter_up_to_a_cap_and_a_success_resets_it():
    pause = SenderPause(rng=lambda: 0.5, base=30, cap=600)
    assert not pause.active and not pause.blocks(T0)
    assert pause.fail("down", T0) is True  # starts a pause
    waits = [pause.seconds_left(T0)]
    now = T0
    for _ in range(6):
        now = pause.until
        assert pause.blocks(now - timedelta(seconds=1)) and not pause.blocks(now)
        assert pause.fail("still down", now) is False  # extends it
        waits.append(pause.seconds_left(now))
    assert waits == [22.5, 45.0, 90.0, 180.0, 360.0, 450.0, 450.0]  # doubling, then capped
    assert pause.since == T0 and pause.reason == "still down"
    assert pause.succeed() is True and not pause.active and not pause.blocks(now)
    assert pause.succeed() is False
    assert pause.fail("down again", now) is True and pause.seconds_left(now) == 22.5  # from the start


def test_a_pause_through_a_very_long_outage_stays_at_the_cap():
    # The pause once computed 2 ** failures unbounded: after about a thousand failed tries it raised OverflowError
    # instead of waiting; the poller's reconnect backoff already stopped counting, and both now share one Backoff.
    pause = SenderPause(rng=lambda: 1.0)  # the shipped float base and cap: 30.0 * 2 ** 5000 is what overflowed
    for _ in range(5000):
        pause.fail("down", T0)
    assert pause.seconds_left(T0) == 600.0 and pause.failures == 5000


def test_the_pause_jitter_spreads_tries_within_half_the_window():
    low, high = SenderPause(rng=lambda: 0.0), SenderPause(rng=lambda: 1.0)
    low.fail("x", T0)
    high.fail("x", T0)
    assert (low.seconds_left(T0), high.seconds_left(T0)) == (15.0, 30.0)

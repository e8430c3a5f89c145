"""The small classifiers: auto-replies, bounces, loops and mailer-daemon senders."""
from __future__ import annotations

import pytest

from mail.classify import bounce_original_id, is_auto_reply, is_mailer_daemon, loop_reason
from mail.parsing import parse_email


def parsed(headers: str, body: str = "text", content_type: str = "text/plain"):
    raw = f"From: Someone <someone@example.org>\r\nMessage-ID: <m1@example.org>\r\nContent-Type: {content_type}\r\n{headers}\r\n{body}\r\n"
    return parse_email(raw.encode())


@pytest.mark.parametrize("headers", [
    "Auto-Submitted: auto-replied\r\n", "Auto-Submitted: auto-generated\r\n", "X-Autoreply: yes\r\n",
    "X-Autorespond: on\r\n", "Precedence: bulk\r\n", "Precedence: junk\r\n", "Precedence: auto_reply\r\n",
    "Subject: Automatic reply: hello\r\n", "Subject: Out of Office: hello\r\n", "Subject: Abwesenheitsnotiz\r\n",
    "Subject: Réponse automatique : bonjour\r\n", "Subject: Respuesta automática: hola\r\n",
    "Subject: Resposta automática: olá\r\n",
])
def test_auto_replies(headers):
    assert is_auto_reply(parsed(headers))


@pytest.mark.parametrize("headers", ["Auto-Submitted: no\r\n", "Subject: Re: office chairs\r\n", "Precedence: list\r\n"])
def test_not_auto_replies(headers):
    assert is_auto_reply(parsed(headers)) == ""


def test_mailer_daemon_and_postmaster():
    assert is_mailer_daemon("MAILER-DAEMON@mx.example.com") and is_mailer_daemon("postmaster@example.org")
    assert not is_mailer_daemon("maria@example.org")


def test_bounce_finds_the_original_message_id_in_a_report():
    body = ("--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; a@b.c\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
            "--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: us@x.com\r\nMessage-ID: <ours@x.com>\r\n\r\nhi\r\n--b--")
    email = parsed("", body, 'multipart/report; report-type=delivery-status; boundary="b"')
    assert bounce_original_id(email) == (True, "<ours@x.com>")


def test_ordinary_mail_is_not_a_bounce():
    assert bounce_original_id(parsed("Subject: hi\r\n")) == (False, "")


def test_loop_guard():
    email = parsed("")
    assert loop_reason(email, ["help@example.org"], "example.com", False) == ""
    email.sender = "help+abc@example.org"
    assert "own address" in loop_reason(email, ["help@example.org"], "example.com", False)
    email.sender = "someone@example.org"
    assert "our domain" in loop_reason(email, [], "example.org", sent_by_us=False)
    assert loop_reason(email, [], "example.org", sent_by_us=True) == ""


def test_malformed_mime_is_a_clear_refusal_not_a_crash():
    email = parse_email(b"From: a@b.c\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\nbroken")
    assert "MIME" in email.error
    assert parse_email(b"\xff\xfe\x00garbage").error

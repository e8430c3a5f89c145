"""The small classifiers: auto-replies, bounces, loops and mailer-daemon senders."""
from __future__ import annotations

import pytest

from mail.classify import (
    auto_reply_header,
    auto_reply_subject,
    auto_responder_phrase,
    bounce_original_id,
    is_auto_reply,
    is_mailer_daemon,
    is_vacation_sender,
    loop_reason,
)
from mail.parsing import parse_email


def parsed(headers: str, body: str = "text", content_type: str = "text/plain; charset=utf-8"):
    raw = (f"From: Someone <someone@example.org>\r\nMessage-ID: <m1@example.org>\r\n"
           f"Content-Type: {content_type}\r\n{headers}\r\n{body}\r\n")
    return parse_email(raw.encode())


@pytest.mark.parametrize("headers", [
    "Auto-Submitted: auto-replied\r\n", "Auto-Submitted: auto-generated\r\n", "X-Autoreply: yes\r\n",
    "X-Autorespond: on\r\n", "Precedence: bulk\r\n", "Precedence: junk\r\n", "Precedence: auto_reply\r\n",
    "X-Auto-Response-Suppress: All\r\n", "X-Auto-Response-Suppress: DR, OOF, AutoReply\r\n",
    "X-MS-Exchange-Inbox-Rules-Loop: maria@example.org\r\n", "Return-Path: <>\r\n",
])
def test_auto_reply_headers_are_evidence_on_their_own(headers):
    email = parsed(headers + "Subject: Re: your question\r\n")
    assert auto_reply_header(email)
    assert is_auto_reply(email)


@pytest.mark.parametrize("headers", ["Auto-Submitted: no\r\n", "Subject: Re: office chairs\r\n", "Precedence: list\r\n",
                                     "Return-Path: <maria@example.org>\r\n"])
def test_not_auto_replies(headers):
    assert is_auto_reply(parsed(headers)) == ""


@pytest.mark.parametrize("subject", [
    "Automatic reply: hello", "Out of Office: hello", "Abwesenheitsnotiz", "Automatische Antwort: Ihre Anfrage",
    "Réponse automatique : bonjour", "Respuesta automática: hola", "Resposta automática: olá",
    "Automatisch antwoord: uw vraag", "Afwezig: uw vraag", "Odpowiedź automatyczna: pytanie",
    "Automatyczna odpowiedź: pytanie", "自動応答: お問い合わせ", "自動返信：お問い合わせ", "Re: Out of office",
    "AW: Abwesenheitsnotiz: Ihre Anfrage", "رد تلقائي: سؤالك",
])
def test_out_of_office_subjects_are_recognised(subject):
    assert auto_reply_subject(subject)


@pytest.mark.parametrize("subject", [
    "Afwezigheid van factuur", "Absences report export fails", "Automatically replying to tickets?",
    "Autoreplying rules in your app", "Outlook out-of-officer role", "Abwesenheitsnotizen im Kalender fehlen",
    "Office chairs", "Re: your question", "Absenteeism dashboard", "不在票について",
])
def test_subject_words_must_match_whole(subject):
    assert auto_reply_subject(subject) == ""


def test_a_subject_alone_is_not_enough():
    # A customer whose subject starts like an auto-reply is still a customer (finding 2 of issue 12).
    email = parsed("Subject: Out of office replies are not sent to my team\r\n",
                   "Hello, how do I set an automatic reply for the whole team in your app?")
    assert auto_reply_subject(email.subject)
    assert is_auto_reply(email) == ""
    assert is_auto_reply(email, reply_delay=lambda: 3 * 3600.0) == ""  # hours later: a person wrote it


@pytest.mark.parametrize("body", [
    "I am out of the office until 10 March with limited access to email.",
    "I'm on vacation until Monday.",
    "Ich bin bis zum 10.03. nicht im Büro.",
    "Je suis absente du bureau jusqu'au 10 mars.",
    "Estoy fuera de la oficina hasta el lunes.",
    "Estou de férias até segunda-feira.",
    "Ik ben afwezig tot en met 10 maart.",
    "Jestem poza biurem do 10 marca.",
    "ただいま不在にしております。3月10日に戻ります。",
])
def test_a_subject_with_a_known_auto_responder_phrase_is_an_auto_reply(body):
    email = parsed("Subject: Automatic reply: Your conversation\r\n", body)
    assert auto_responder_phrase(email.text)
    assert "subject" in is_auto_reply(email)


def test_a_subject_with_an_answer_within_seconds_of_our_email_is_an_auto_reply():
    email = parsed("Subject: Out of office\r\n", "Thanks for your message.")
    assert is_auto_reply(email, reply_delay=lambda: 4.0)
    assert is_auto_reply(email, reply_delay=lambda: None) == ""


@pytest.mark.parametrize("sender", ["vacation@example.org", "noreply@example.org", "no-reply@example.org",
                                    "autoreply@example.org", "out-of-office@example.org", "donotreply@example.org"])
def test_a_subject_from_a_vacation_sender_is_an_auto_reply(sender):
    assert is_vacation_sender(sender)
    email = parsed("Subject: Out of office\r\n", "Thanks for your message.")
    email.sender = sender
    assert is_auto_reply(email)


@pytest.mark.parametrize(
    "sender", ["maria@example.org", "noreplyneeded.fan@example.org", "vacationrentals@example.org"]
)
def test_ordinary_senders_are_not_vacation_senders(sender):
    assert not is_vacation_sender(sender)


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

"""Finding 1 of issue 12: control characters in an email are cleaned away; they never refuse the whole email."""
from __future__ import annotations

from sqlmodel import select

from core.inbound import InboundOutcome
from core.models import EndUser, Message
from mail.routing import file_raw_email


def file(world, raw: bytes, uid: int = 1):
    with world.db.session() as session:
        return file_raw_email(session, world.clock, world.config, world.signer, raw, mailbox="INBOX",
                              uidvalidity=5, uid=uid)


def posted_body(world, record) -> str:
    with world.db.session() as session:
        return session.get(Message, record.posted_message_id).body


def test_a_reply_with_escape_form_feed_and_vertical_tab_is_posted_clean(inbound_world):
    world = inbound_world
    body = "Error shown:\x1b[2J\x1b[31mE42 disk full\x1b[0m\fPage 2 of the PDF\vnext line\x1b]0;title\x07 end"
    record = file(world, world.reply(body))
    assert record.outcome is InboundOutcome.posted, record.reason
    expected = "Error shown:E42 disk full\nPage 2 of the PDF\nnext line end"
    assert record.text == expected
    assert posted_body(world, record) == expected
    assert "\x1b" not in record.original_text and "\x0c" not in record.original_text
    assert b"\x1b[2J" in record.raw_source  # the untouched source stays for the agent


def test_control_characters_in_the_sender_name_and_subject_do_not_refuse_a_new_email(inbound_world):
    world = inbound_world
    raw = (b"From: \"Eve\x1b[31m Red\" <eve@example.net>\r\nTo: help@example.com\r\n"
           b"Subject: Broken\x0b export\r\nMessage-ID: <ctl-new@example.net>\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\nThe export\x0c stops.\r\n")
    record = file(world, raw)
    assert record.outcome is InboundOutcome.new_conversation, record.reason
    assert record.subject == "Broken export"
    assert posted_body(world, record) == "The export\n stops."
    with world.db.session() as session:
        person = session.exec(select(EndUser).where(EndUser.email == "eve@example.net")).one()
        assert person.name == "Eve Red"


def test_an_html_only_email_with_control_characters_is_posted(inbound_world):
    world = inbound_world
    raw = ("From: Maria <maria@example.org>\r\nTo: " + world.reply_to() + "\r\nSubject: Re: help\r\n"
           "Message-ID: <ctl-html@example.org>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
           "<p>Copied from the terminal: \x1b[1mbold\x1b[0m\x1b]0;t\x07 done</p>\r\n").encode()
    record = file(world, raw)
    assert record.outcome is InboundOutcome.posted, record.reason
    assert posted_body(world, record) == "Copied from the terminal: bold done"


def test_an_overlong_sender_name_is_shortened_not_a_refusal(inbound_world):
    world = inbound_world
    name = "Dr. " + "Very Long Name " * 30
    raw = (
        f'From: "{name}" <long@example.net>\r\nTo: help@example.com\r\nSubject: Hello\r\n'
        "Message-ID: <long-name@example.net>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nA question.\r\n"
    ).encode()
    record = file(world, raw)
    assert record.outcome is InboundOutcome.new_conversation, record.reason
    with world.db.session() as session:
        person = session.exec(select(EndUser).where(EndUser.email == "long@example.net")).one()
        assert person.name.startswith("Dr. Very Long Name") and len(person.name) <= 200

"""Issue 12: every inbound email ends in a conversation or waits for an agent, who can post or discard it.

Real emails are filed through mail.routing on a real database; the agent's decisions go through core.inbound.
"""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from core.agents import AgentService
from core.end_users import EndUserService
from core.errors import InvalidInput, InvalidTransition, NotFound
from core.events import EventLog
from core.inbound import (
    HeldStatus,
    InboundDecision,
    InboundEmail,
    InboundOutcome,
    InboundService,
    IncomingEmail,
    Verdict,
)
from core.models import Channel, Conversation, Message
from mail.poller import ImapPoller
from mail.routing import file_raw_email
from tests.fixtures.imap import wait_for
from threadline.inbound_testbed import SUPPORT


def file(world, raw: bytes, uid: int = 1) -> InboundEmail:
    with world.db.session() as session:
        return file_raw_email(session, world.clock, world.config, world.signer, raw, mailbox="INBOX",
                              uidvalidity=5, uid=uid)


def agent_id(world) -> int:
    with world.db.session() as session:
        return AgentService(session, world.clock).add("ana", "Ana").id


def body_of(world, record: InboundEmail) -> str:
    with world.db.session() as session:
        return session.get(Message, record.posted_message_id).body


def event_kinds(world) -> list[str]:
    with world.db.session() as session:
        return [e.kind for e in EventLog(session).after(0)]


def plain(sender: str, subject: str, body: str, *, to: str = SUPPORT, headers: str = "",
          message_id: str = "<r1@example.net>") -> bytes:
    return (f"From: Someone <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n{headers}\r\n{body}\r\n").encode()


def _blocked(world):
    with world.db.session() as session:
        EndUserService(session, world.clock).block(world.end_user_id)
    return world.reply("Please unblock me, I paid.")


REFUSALS = {
    # name: (make the raw email, the outcome it gets, the text an agent must be able to post)
    "blocked sender": (_blocked, InboundOutcome.refused, "Please unblock me, I paid."),
    "forged token": (lambda w: plain("maria@example.org", "Re: help", "My token got mangled, sorry.",
                                     to="help+1-forgedtoken@example.com"),
                     InboundOutcome.refused, "My token got mangled, sorry."),
    "auto-reply header on a person's email": (
        lambda w: plain("maria@example.org", "Question", "A real question from a misconfigured client.",
                        headers="X-Autoreply: yes\r\n"),
        InboundOutcome.auto_reply, "A real question from a misconfigured client."),
    "oversized": (lambda w: plain("maria@example.org", "Logs", "Here are my logs.\r\n" + "x" * 400),
                  InboundOutcome.refused, "Here are my logs."),
    "broken MIME": (lambda w: (b"From: maria@example.org\r\nSubject: broken\r\nMessage-ID: <b@example.org>\r\n"
                               b"Content-Type: multipart/mixed\r\n\r\nThe attachment is missing, but read this.\r\n"),
                    InboundOutcome.refused, "The attachment is missing, but read this."),
    "mailer-daemon sender": (lambda w: plain("postmaster@example.org", "Question from the postmaster",
                                             "Hi, the postmaster here with a real question."),
                             InboundOutcome.refused, "Hi, the postmaster here with a real question."),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_any_refused_email_can_be_posted_by_an_agent_with_its_text_intact(inbound_world, name):
    world = inbound_world
    world.config.mail.max_message_bytes = 350  # only the "oversized" email is that large
    make, outcome, text = REFUSALS[name]
    record = file(world, make(world))
    assert record.outcome is outcome, record.reason
    assert record.raw_source and record.reason
    ana = agent_id(world)
    with world.db.session() as session:
        service = InboundService(session, world.clock)
        assert record.id in [r.id for r in service.refused()]
        posted = service.post_by_agent(record.id, ana, new_conversation=True)
        assert posted.decision is InboundDecision.posted and posted.decided_by_agent_id == ana
        assert record.id not in [r.id for r in service.refused()]
        message = session.get(Message, posted.posted_message_id)
        assert message.channel is Channel.email and message.author_kind.value == "end_user"
    assert body_of(world, posted).startswith(text)
    assert "inbound.accepted" in event_kinds(world)


def test_a_refused_email_goes_into_the_conversation_it_matched(inbound_world):
    world = inbound_world
    with world.db.session() as session:
        EndUserService(session, world.clock).block(world.end_user_id)
    record = file(world, world.reply("Still me."))
    assert record.outcome is InboundOutcome.refused
    ana = agent_id(world)
    with world.db.session() as session:
        InboundService(session, world.clock).post_by_agent(record.id, ana)  # one key: the matched conversation
    with world.db.session() as session:
        posted = session.get(InboundEmail, record.id)
        assert posted.conversation_id == world.conversation_id
        message = session.get(Message, posted.posted_message_id)
        assert message.body == "Still me." and message.meta["accepted_by"] == ana


def test_an_auto_reply_goes_into_the_conversation_an_agent_picks_and_the_choice_is_logged(inbound_world):
    world = inbound_world
    record = file(world, plain("maria@example.org", "Automatic reply: order", "Actually I am a person.",
                               headers="Auto-Submitted: auto-replied\r\n"))
    assert record.outcome is InboundOutcome.auto_reply
    ana = agent_id(world)
    with world.db.session() as session:
        service = InboundService(session, world.clock)
        with pytest.raises(NotFound):
            service.post_by_agent(record.id, ana, conversation_id=9999)
        posted = service.post_by_agent(record.id, ana, conversation_id=world.conversation_id)
        assert posted.conversation_id == world.conversation_id
        with pytest.raises(InvalidTransition):
            service.post_by_agent(record.id, ana, conversation_id=world.conversation_id)
        with pytest.raises(InvalidTransition):
            service.discard(record.id, ana)
        [event] = [e for e in EventLog(session).after(0) if e.kind == "inbound.accepted"]
        assert event.payload["target"] == "picked" and event.payload["agent_id"] == ana
        assert event.payload["inbound_id"] == record.id
    assert body_of(world, posted) == "Actually I am a person."


def test_a_discarded_email_leaves_the_list_and_is_logged(inbound_world):
    world = inbound_world
    record = file(world, plain("noreply@shop.example", "Your newsletter", "Deals!", headers="Precedence: bulk\r\n"))
    ana = agent_id(world)
    with world.db.session() as session:
        service = InboundService(session, world.clock)
        discarded = service.discard(record.id, ana)
        assert discarded.decision is InboundDecision.discarded and discarded.raw_source
        assert service.refused() == []
        with pytest.raises(InvalidTransition):
            service.post_by_agent(record.id, ana)
        assert session.exec(select(Message).where(Message.email_message_id == record.message_id)).first() is None
    assert "inbound.rejected" in event_kinds(world)


def test_a_held_email_is_posted_or_discarded_through_the_same_decisions(inbound_world):
    world = inbound_world
    held = file(world, world.reply("I'm the colleague.", sender="colleague@example.net"), uid=1)
    other = file(world, world.reply("Me too.", sender="second@example.net"), uid=2)
    ana = agent_id(world)
    with world.db.session() as session:
        service = InboundService(session, world.clock)
        posted = service.post_by_agent(held.id, ana, new_conversation=True)
        assert posted.held_status is HeldStatus.accepted and posted.conversation_id != world.conversation_id
        dropped = service.discard(other.id, ana)
        assert dropped.held_status is HeldStatus.rejected
        assert service.held() == []
        new = session.get(Conversation, posted.conversation_id)
        assert new.channel is Channel.email


def test_a_stored_text_with_control_characters_is_still_postable(inbound_world):
    # Records filed before inbound cleaning hold the text as it came; the agent must not get a refusal.
    world = inbound_world
    with world.db.session() as session:
        record = InboundService(session, world.clock).file(
            IncomingEmail(message_id="<old@example.org>", sender="maria@example.org", raw=b"raw",
                          text="Screen:\x1b[2J cleared\x0cnext page"),
            Verdict(InboundOutcome.refused, "The email could not be processed (InvalidInput)."))
    ana = agent_id(world)
    with world.db.session() as session:
        posted = InboundService(session, world.clock).post_by_agent(
            record.id, ana, conversation_id=world.conversation_id
        )
    assert body_of(world, posted) == "Screen: cleared\nnext page"


def test_posted_emails_keep_their_raw_source(inbound_world):
    world = inbound_world
    raw = world.reply("Kept for the agent.")
    record = file(world, raw)
    assert record.outcome is InboundOutcome.posted and record.raw_source == raw


def test_old_raw_sources_are_cleared_except_for_mail_still_waiting(inbound_world):
    world = inbound_world
    posted = file(world, world.reply("posted long ago"), uid=1)
    waiting = file(world, plain("maria@example.org", "Q", "waiting", headers="X-Autoreply: yes\r\n",
                                message_id="<w@example.org>"), uid=2)
    discarded = file(world, plain("maria@example.org", "Q", "dropped", headers="X-Autoreply: yes\r\n",
                                  message_id="<d@example.org>"), uid=3)
    ana = agent_id(world)
    with world.db.session() as session:
        InboundService(session, world.clock).discard(discarded.id, ana)
    world.clock.advance(timedelta(days=89, hours=23))
    recent = file(world, world.reply("posted lately", message_id="<recent@example.org>"), uid=4)
    with world.db.session() as session:
        service = InboundService(session, world.clock)
        assert service.clear_old_raw_sources(90) == 0  # not 90 days old yet
        world.clock.advance(timedelta(hours=2))
        assert service.clear_old_raw_sources(90) == 2
        kept = {r.id: r.raw_source is not None for r in session.exec(select(InboundEmail))}
        assert kept == {posted.id: False, waiting.id: True, discarded.id: False, recent.id: True}
        assert service.clear_old_raw_sources(90) == 0
        with pytest.raises(InvalidInput, match="raw_retention_days"):
            service.clear_old_raw_sources(0)
        cleared = [e for e in EventLog(session).after(0) if e.kind == "inbound.raw_sources_cleared"]
        assert [e.payload["count"] for e in cleared] == [2]
    with world.db.session() as session:  # the words themselves stay: only the source is forgotten
        assert session.get(InboundEmail, posted.id).original_text.startswith("posted long ago")


async def test_the_poller_clears_old_raw_sources_by_the_injected_clock(imap_target, inbound_world):
    world = inbound_world
    world.config.mail.raw_retention_days = 30
    config = imap_target.imap_config(world.config)
    poller = ImapPoller(world.db, config, world.clock, world.signer, backoff_base=0.05, backoff_cap=0.2)
    task = asyncio.create_task(poller.run())
    try:
        await wait_for(lambda: poller.using_idle is not None)
        await imap_target.append(world.reply("first", message_id="<first@example.org>"))
        first = await wait_for(lambda: _record(world, "<first@example.org>"))
        assert first.raw_source
        world.clock.advance(timedelta(days=31))
        await imap_target.append(world.reply("second", message_id="<second@example.org>"))
        await wait_for(lambda: _record(world, "<second@example.org>"))
        await wait_for(lambda: _record(world, "<first@example.org>").raw_source is None)
        assert _record(world, "<second@example.org>").raw_source
    finally:
        await poller.stop()
        await asyncio.wait_for(task, 10)


def test_raw_retention_days_is_validated():
    from core.config import load_config
    from core.errors import ConfigError

    assert load_config(environ={}).mail.raw_retention_days == 90
    with pytest.raises(ConfigError, match=r"mail\.raw_retention_days"):
        load_config(environ={"THREADLINE_MAIL_RAW_RETENTION_DAYS": "0"})


def _record(world, message_id: str) -> InboundEmail | None:
    with world.db.session() as session:
        return session.exec(select(InboundEmail).where(InboundEmail.message_id == message_id)).first()

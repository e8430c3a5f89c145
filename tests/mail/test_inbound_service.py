"""core.inbound via mail.routing on a real database: held mail, rate limits, blocking, proof of address, events."""
from __future__ import annotations

import pytest
from sqlmodel import select

from core.agents import AgentService
from core.end_users import EndUserService
from core.errors import InvalidTransition
from core.events import EventLog
from core.inbound import HeldStatus, InboundOutcome, InboundService, MailboxState
from core.models import Channel, EndUser, Message
from mail.routing import file_raw_email


def file(world, raw: bytes, uid: int = 1):
    with world.db.session() as session:
        return file_raw_email(session, world.clock, world.config, world.signer, raw, mailbox="INBOX",
                              uidvalidity=5, uid=uid)


def end_user(world) -> EndUser:
    with world.db.session() as session:
        return session.get(EndUser, world.end_user_id)


def agent_id(world) -> int:
    with world.db.session() as session:
        return AgentService(session, world.clock).add("ana", "Ana").id


def test_reply_records_message_event_and_last_uid_together(inbound_world):
    world = inbound_world
    record = file(world, world.reply("All good."), uid=42)
    assert record.outcome is InboundOutcome.posted and record.posted_message_id
    with world.db.session() as session:
        state = session.exec(select(MailboxState)).one()
        assert (state.mailbox, state.uidvalidity, state.last_uid) == ("INBOX", 5, 42)
        kinds = [e.kind for e in EventLog(session).after(0)]
        assert "inbound.posted" in kinds and "message.posted" in kinds and "end_user.email_verified" in kinds
        message = session.get(Message, record.posted_message_id)
        assert message.channel is Channel.email and message.email_message_id == record.message_id


def test_other_sender_is_held_then_accepted_by_an_agent(inbound_world):
    world = inbound_world
    record = file(world, world.reply("I'm the colleague.", sender="colleague@example.net"))
    assert record.outcome is InboundOutcome.held and record.held_status is HeldStatus.pending
    assert record.raw_source and record.conversation_id == world.conversation_id
    assert not end_user(world).email_verified  # someone else's reply proves nothing
    ana = agent_id(world)
    with world.db.session() as session:
        service = InboundService(session, world.clock)
        assert [r.id for r in service.held()] == [record.id]
        accepted = service.post_by_agent(record.id, ana)
        assert accepted.held_status is HeldStatus.accepted and accepted.decided_by_agent_id == ana
        assert service.held() == []
        body = session.get(Message, accepted.posted_message_id).body
        assert body == "I'm the colleague."
        with pytest.raises(InvalidTransition):
            service.post_by_agent(record.id, ana)


def test_rejected_held_email_stays_recorded_and_is_not_posted(inbound_world):
    world = inbound_world
    record = file(world, world.reply("spam?", sender="stranger@example.net"))
    ana = agent_id(world)
    with world.db.session() as session:
        rejected = InboundService(session, world.clock).discard(record.id, ana)
        assert rejected.held_status is HeldStatus.rejected and rejected.raw_source
        assert session.exec(select(Message).where(Message.email_message_id == record.message_id)).first() is None
        kinds = [e.kind for e in EventLog(session).after(0)]
        assert "inbound.held" in kinds and "inbound.rejected" in kinds


def test_sender_over_the_window_is_held_and_limited_for_an_hour(inbound_world):
    world = inbound_world
    world.config.mail.sender_window_max = 3
    outcomes = [file(world, world.reply(f"n{n}"), uid=n + 1).outcome for n in range(5)]
    assert outcomes == [InboundOutcome.posted] * 3 + [InboundOutcome.held] * 2
    world.clock.advance(world.config.mail.sender_window_seconds + 1)  # a new window, but still limited
    assert file(world, world.reply("later"), uid=10).outcome is InboundOutcome.held
    world.clock.advance(3600)
    assert file(world, world.reply("much later"), uid=11).outcome is InboundOutcome.posted


def test_blocked_sender_is_refused_with_the_source_kept(inbound_world):
    world = inbound_world
    with world.db.session() as session:
        EndUserService(session, world.clock).block(world.end_user_id)
    record = file(world, world.reply("let me in"))
    assert record.outcome is InboundOutcome.refused and "blocked" in record.reason
    assert record.raw_source
    with world.db.session() as session:
        assert [r.id for r in InboundService(session, world.clock).refused()] == [record.id]


def test_the_same_email_twice_is_a_duplicate(inbound_world):
    world = inbound_world
    raw = world.reply("once", message_id="<dup@example.org>")
    assert file(world, raw, uid=1).outcome is InboundOutcome.posted
    second = file(world, raw, uid=2)
    assert second.outcome is InboundOutcome.duplicate and second.posted_message_id is None
    with world.db.session() as session:
        assert len(list(session.exec(select(Message).where(Message.email_message_id == "<dup@example.org>")))) == 1
        assert session.exec(select(MailboxState)).one().last_uid == 2


def test_new_sender_starts_a_queued_email_conversation(inbound_world):
    world = inbound_world
    raw = (b"From: New Person <new@example.net>\r\nTo: help@example.com\r\nSubject: Hello\r\n"
           b"Message-ID: <first@example.net>\r\n\r\nI have a question.\r\n")
    record = file(world, raw)
    assert record.outcome is InboundOutcome.new_conversation
    assert record.conversation_id != world.conversation_id
    with world.db.session() as session:
        message = session.get(Message, record.posted_message_id)
        assert message.body == "I have a question." and message.channel is Channel.email
        person = session.exec(select(EndUser).where(EndUser.email == "new@example.net")).one()
        assert person.name == "New Person" and not person.email_verified


def test_oversized_email_is_refused_not_crashed(inbound_world):
    world = inbound_world
    world.config.mail.max_message_bytes = 200
    record = file(world, world.reply("x" * 500))
    assert record.outcome is InboundOutcome.refused and "max_message_bytes" in record.reason


def test_an_absurdly_long_message_id_is_replaced_by_a_content_hash(inbound_world):
    world = inbound_world
    record = file(world, world.reply("long id", message_id=f"<{'x' * 2000}@example.org>"))
    assert record.outcome is InboundOutcome.posted
    assert record.message_id.startswith("<sha256-") and len(record.message_id) < 100

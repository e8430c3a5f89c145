"""The IMAP poller against a real server on 127.0.0.1: threading, dedupe, restart, UIDVALIDITY, dropped IDLE, no
IDLE."""
from __future__ import annotations

import asyncio
import contextlib

from sqlmodel import select

from core.inbound import InboundEmail, InboundOutcome, MailboxState
from core.models import Channel, Conversation, ConversationStatus, EndUser, Message
from mail.poller import ImapPoller
from tests.fixtures.imap import wait_for


@contextlib.asynccontextmanager
async def running(poller: ImapPoller):
    task = asyncio.create_task(poller.run())
    try:
        yield poller
    finally:
        await poller.stop()
        await asyncio.wait_for(task, 10)


def email_messages(world) -> list[Message]:
    with world.db.session() as session:
        return list(session.exec(select(Message).where(Message.conversation_id == world.conversation_id,
                                                       Message.channel == Channel.email).order_by(Message.seq)))


def records(world) -> list[InboundEmail]:
    with world.db.session() as session:
        return list(session.exec(select(InboundEmail).order_by(InboundEmail.id)))


def poller_for(world, target, **imap) -> ImapPoller:
    config = target.imap_config(world.config, **imap)
    return ImapPoller(world.db, config, world.clock, world.signer, backoff_base=0.05, backoff_cap=0.2)


async def test_token_reply_is_posted_once_into_its_conversation(imap_target, inbound_world):
    world = inbound_world
    with world.db.session() as session:  # a solved conversation comes back to the queue
        conversation = session.get(Conversation, world.conversation_id)
        conversation.status = ConversationStatus.solved
        session.add(conversation)
        session.commit()
    async with running(poller_for(world, imap_target)) as poller:
        await wait_for(lambda: poller.using_idle is not None)
        await imap_target.append(world.reply("Thanks, that fixed it."))
        messages = await wait_for(lambda: email_messages(world))
    assert [m.body for m in messages] == ["Thanks, that fixed it."]
    assert messages[0].author_kind.value == "end_user"
    with world.db.session() as session:
        assert session.get(Conversation, world.conversation_id).status is ConversationStatus.queued
        assert session.get(EndUser, world.end_user_id).email_verified is True
    [record] = records(world)
    assert record.outcome is InboundOutcome.posted and b"Thanks, that fixed it." in record.raw_source
    assert "Hello Maria" in record.original_text


async def test_header_only_reply_threads_by_in_reply_to(imap_target, inbound_world):
    world = inbound_world
    async with running(poller_for(world, imap_target)):
        await imap_target.append(world.reply("Header match works.", headers_only=True))
        messages = await wait_for(lambda: email_messages(world))
    assert [m.body for m in messages] == ["Header match works."]


async def test_duplicate_delivery_is_stored_once(imap_target, inbound_world):
    world = inbound_world
    raw = world.reply("Only once please.", message_id="<same-id@mail.example.org>")
    async with running(poller_for(world, imap_target)):
        await imap_target.append(raw)
        await imap_target.append(raw)
        await wait_for(lambda: len(records(world)) == 2)
    assert [m.body for m in email_messages(world)] == ["Only once please."]
    assert [r.outcome for r in records(world)] == [InboundOutcome.posted, InboundOutcome.duplicate]


async def test_restart_mid_batch_neither_loses_nor_doubles(imap_target, inbound_world):
    world = inbound_world
    for n in range(6):
        await imap_target.append(world.reply(f"reply {n}"))
    filed: list[InboundEmail] = []
    first = poller_for(world, imap_target)
    first.on_committed = filed.append
    task = asyncio.create_task(first.run())
    await wait_for(lambda: len(filed) >= 3)
    await first.stop()  # stops after the email in hand, mid-batch
    await asyncio.wait_for(task, 10)
    assert len(filed) >= 3
    async with running(poller_for(world, imap_target)):
        await wait_for(lambda: len(email_messages(world)) == 6)
    assert [m.body for m in email_messages(world)] == [f"reply {n}" for n in range(6)]
    assert len(records(world)) == 6  # nothing fetched twice: the second run resumed after the committed UID


async def test_uidvalidity_change_rescans_with_message_id_dedupe(imap_target, inbound_world):
    world = inbound_world
    async with running(poller_for(world, imap_target)):
        await imap_target.append(world.reply("before the change"))
        await wait_for(lambda: len(email_messages(world)) == 1)
    with world.db.session() as session:  # the server renumbered the mailbox, as after a restore
        state = session.exec(select(MailboxState)).one()
        state.uidvalidity += 1
        session.add(state)
        session.commit()
    await imap_target.append(world.reply("after the change"))
    async with running(poller_for(world, imap_target)):
        await wait_for(lambda: len(email_messages(world)) == 2)
        await wait_for(lambda: len(records(world)) == 3)
    assert [m.body for m in email_messages(world)] == ["before the change", "after the change"]
    assert [r.outcome for r in records(world)] == [InboundOutcome.posted, InboundOutcome.duplicate,
                                                    InboundOutcome.posted]


async def test_connection_dropped_during_idle_reconnects(imap_target, inbound_world):
    world = inbound_world
    async with running(poller_for(world, imap_target)) as poller:
        await wait_for(lambda: poller.connections == 1 and poller.idles >= 1)  # the server accepted IDLE
        assert imap_target.drop_connections() >= 1
        await wait_for(lambda: poller.connections >= 2)
        await imap_target.append(world.reply("after the drop"))
        await wait_for(lambda: email_messages(world))
    assert [m.body for m in email_messages(world)] == ["after the drop"]


async def test_server_without_idle_is_polled(imap_target_without_idle, inbound_world):
    world = inbound_world
    poller = poller_for(world, imap_target_without_idle, poll_interval=0.05)
    async with running(poller):
        await wait_for(lambda: poller.using_idle is False)
        await imap_target_without_idle.append(world.reply("polled in"))
        await wait_for(lambda: email_messages(world))
    assert [m.body for m in email_messages(world)] == ["polled in"]


async def test_a_reply_is_filed_from_the_idle_push_without_waiting_for_a_renewal(imap_target, inbound_world):
    # How fast is for bench/inbound_latency.py; here renewal and polling are far off, so only the push can file it.
    world = inbound_world
    poller = poller_for(world, imap_target, idle_renew=600, poll_interval=600, keepalive=1200)
    idles_at_commit: list[int] = []
    poller.on_committed = lambda record: idles_at_commit.append(poller.idles)
    async with running(poller):
        await wait_for(lambda: poller.idles >= 1)  # the server accepted IDLE
        idles_before = poller.idles
        await imap_target.append(world.reply("pushed"))
        await wait_for(lambda: idles_at_commit, timeout=60)
    assert idles_at_commit == [idles_before]  # filed within the IDLE round that was waiting, not after a renewal
    assert [m.body for m in email_messages(world)] == ["pushed"]


async def test_idle_is_renewed_and_processed_mail_is_seen_and_moved(imap_target, inbound_world):
    from aioimaplib import aioimaplib

    world = inbound_world
    checker = aioimaplib.IMAP4(host=imap_target.host, port=imap_target.port, timeout=10)
    await checker.wait_hello_from_server()
    await checker.login(imap_target.user, imap_target.password)
    await checker.delete("Processed")  # left over on an external server; an error if absent, which is fine
    assert (await checker.create("Processed")).result == "OK"
    poller = poller_for(world, imap_target, idle_renew=0.2, processed_folder="Processed")
    async with running(poller):
        await wait_for(lambda: poller.idles >= 3)  # renewed without any mail arriving
        await imap_target.append(world.reply("moved after commit"))
        await wait_for(lambda: email_messages(world))
        for _ in range(200):  # the move follows the commit; wait for it on the server
            await checker.select("Processed")
            found = await checker.uid("fetch", "1:*", "(FLAGS)")
            if any(b"\\Seen" in bytes(line) for line in found.lines):
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the processed email was not moved and flagged \\Seen")
    await checker.select("INBOX")
    assert (await checker.uid_search("ALL", charset=None)).lines[:-1] in ([], [b""])
    await checker.delete("Processed")
    await checker.logout()
    assert [m.body for m in email_messages(world)] == ["moved after commit"]

"""The scheduler claims due conversations into jobs and nudges the sender; end to end through a real SMTP server."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import select

from core.conversations import ConversationService
from core.events import wakeup
from core.models import OutboxJob, OutboxStatus
from core.settings import SettingsService
from mail.outbound import OutboundMail
from mail.scheduler import NotificationScheduler
from tests.fixtures.smtp import mail_config


def _due_conversation(world, body="We fixed it, please try again.") -> int:
    with world.db.session() as session:
        SettingsService(session, world.clock).update(continuous_conversations=True, inactivity_minutes=5)
        service = ConversationService(session, world.clock)
        end_user = service.create_end_user("Alex", "alex@example.org", "de", email_verified=True)
        conversation = service.start_conversation(end_user.id)
        service.post_end_user_message(conversation.id, "Es geht nicht.")
        service.post_agent_message(conversation.id, world.agent_id, body)
        return conversation.id


def _jobs(world) -> list[OutboxJob]:
    with world.db.read_session() as session:
        return list(session.exec(select(OutboxJob)))


async def test_run_once_claims_only_what_is_due(world):
    conversation_id = _due_conversation(world)
    scheduler = NotificationScheduler(world.db, world.clock, world.signer, message_id_domain="example.com")
    assert await scheduler.run_once() == 0
    world.clock.advance(timedelta(minutes=5))
    assert await scheduler.run_once() == 1
    assert await scheduler.run_once() == 0
    [job] = _jobs(world)
    assert job.conversation_id == conversation_id and job.status is OutboxStatus.pending
    assert job.message_id.endswith("@example.com>")


async def test_wakeup_claims_and_the_sender_delivers_in_german(world, smtp_server):
    outbound = OutboundMail(world.db, mail_config(smtp_server.port), world.signer, world.clock)
    running = asyncio.create_task(outbound.run())
    try:
        conversation_id = _due_conversation(world, "Wir haben es behoben.")
        await asyncio.sleep(0)  # let both loops reach their waits (no wall-clock waiting: the clock is fixed)
        assert _jobs(world) == []
        world.clock.advance(timedelta(minutes=5))
        wakeup.notify()  # what any commit in this process does
        [received] = await smtp_server.wait_for(1)
    finally:
        await asyncio.wait_for(outbound.stop(), 10)
        await asyncio.wait_for(running, 10)
    message = received.message
    assert message["Content-Language"] == "de"
    assert "Wir haben es behoben." in message.get_body(("plain",)).get_content()
    [job] = _jobs(world)
    assert job.status is OutboxStatus.sent and job.conversation_id == conversation_id


async def test_configured_daily_cap_for_unverified_addresses_reaches_the_claim(world):
    with world.db.session() as session:
        SettingsService(session, world.clock).update(continuous_conversations=True, inactivity_minutes=5)
        service = ConversationService(session, world.clock)
        end_user = service.create_end_user("Typed", "typed@example.org")  # typed in the widget: unverified
        conversation = service.start_conversation(end_user.id)
        service.post_end_user_message(conversation.id, "Hello")
    config = mail_config(2525)
    config.widget.unverified_emails_per_day = 1
    outbound = OutboundMail(world.db, config, world.signer, world.clock)
    for n in range(2):
        with world.db.session() as session:
            ConversationService(session, world.clock).post_agent_message(conversation.id, world.agent_id, f"reply {n}")
        world.clock.advance(timedelta(minutes=6))
        await outbound.scheduler.run_once()
    assert len(_jobs(world)) == 1  # the second batch waits for the 24-hour window


async def test_wake_ups_with_nothing_due_never_claim(world):
    """Every commit that records events wakes the scheduler; only a due time reached may start a claim (a write
    transaction): claiming on each wake-up cost two write transactions per chat message per serve process."""
    conversation_id = _due_conversation(world)  # due in five minutes
    with world.db.session() as session:
        service = ConversationService(session, world.clock)
        other = service.start_conversation(service.create_end_user("Busy", "busy@example.org").id).id
    statements: list[str] = []
    url = str(world.db.engine.url)

    def listen(conn, _cursor, statement, *_args) -> None:
        if str(conn.engine.url) == url:  # this test's database only, whatever else this process runs
            statements.append(statement)

    event.listen(Engine, "before_cursor_execute", listen)  # reading and writing engines alike

    def looks() -> int:  # reads of the earliest due time
        return sum("notify_due_at IS NOT NULL" in s for s in statements)

    async def until(condition, what: str) -> None:
        for _ in range(1000):
            if condition():
                return
            await asyncio.sleep(0.01)  # the scheduler's thread does the work; nothing here depends on time passing
        raise AssertionError(f"timed out waiting for {what}")

    scheduler = NotificationScheduler(world.db, world.clock, world.signer, message_id_domain="example.com")
    running = asyncio.create_task(scheduler.run())
    try:
        await until(lambda: looks() >= 1, "the first look")
        for n in range(5):
            before = looks()
            with world.db.session() as session:  # news in another conversation: wakes the scheduler
                ConversationService(session, world.clock).post_end_user_message(other, f"still there? {n}")
            await until(lambda before=before: looks() > before, "the scheduler to look again")
        assert not [s for s in statements if "notify_due_at <=" in s], "a wake-up with nothing due claimed"
        world.clock.advance(timedelta(minutes=5))
        wakeup.notify()
        await until(lambda: bool(_jobs(world)), "the claim once due")
    finally:
        event.remove(Engine, "before_cursor_execute", listen)
        await scheduler.stop()
        await asyncio.wait_for(running, 10)
    [job] = _jobs(world)
    assert job.conversation_id == conversation_id

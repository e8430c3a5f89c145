"""Internal notes never go into a notification email: neither among the unread replies nor in the recap, and a
note alone makes no email (scheduler, sender, aiosmtpd on 127.0.0.1)."""
from __future__ import annotations

from core.collaboration import CollaborationService
from core.conversations import ConversationService
from core.settings import SettingsService
from mail.scheduler import NotificationScheduler
from mail.sender import OutboxSender
from tests.fixtures.smtp import mail_config


def _note(world, conversation_id: int, body: str) -> None:
    with world.db.session() as session:
        CollaborationService(session, world.clock).add_note(conversation_id, world.agent_id, body)


async def _send_due(world, port: int) -> int:
    scheduler = NotificationScheduler(world.db, world.clock, world.signer, message_id_domain="example.com")
    claimed = await scheduler.run_once()
    sender = OutboxSender(world.db, mail_config(port), world.signer, world.clock, worker_id="t", rng=lambda: 0.5)
    await sender.run_once()
    await sender.pool.close()
    return claimed


async def test_notes_are_in_no_notification_email(world, smtp_server):
    with world.db.session() as session:
        SettingsService(session, world.clock).update(continuous_conversations=True, inactivity_minutes=5)
        service = ConversationService(session, world.clock)
        end_user = service.create_end_user("Alex", "alex@example.org", "en", email_verified=True)
        conversation_id = service.start_conversation(end_user.id).id
        service.post_end_user_message(conversation_id, "Where is my parcel?")
        service.post_agent_message(conversation_id, world.agent_id, "Checking with the carrier.")
    _note(world, conversation_id, "NOTE-ONE carrier lost it")  # among the earlier messages (the recap)
    world.advance(5 * 60)
    assert await _send_due(world, smtp_server.port) == 1

    with world.db.session() as session:
        ConversationService(session, world.clock).post_agent_message(conversation_id, world.agent_id,
                                                                     "It arrives tomorrow.")
    _note(world, conversation_id, "NOTE-TWO refund if late")  # after the unread reply
    world.advance(5 * 60)
    assert await _send_due(world, smtp_server.port) == 1

    # A note alone is no reply: nothing becomes due.
    _note(world, conversation_id, "NOTE-THREE follow up Monday")
    world.advance(60 * 60)
    assert await _send_due(world, smtp_server.port) == 0

    first, second = (received.message for received in smtp_server.received)
    for message in (first, second):
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        for source in (text, html, str(message["Subject"])):
            assert "NOTE-" not in source
    second_text = second.get_body(("plain",)).get_content()
    assert "It arrives tomorrow." in second_text and "Checking with the carrier." in second_text  # recap is there

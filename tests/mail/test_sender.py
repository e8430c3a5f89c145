"""The sender over a real aiosmtpd server on 127.0.0.1: what arrives, threading, escaping, records and events."""
from __future__ import annotations

from sqlmodel import col, select

from core.events import EventLog
from core.models import EndUser, Event, OutboxStatus
from core.outbox import OutboxService
from mail.sender import OutboxSender
from tests.fixtures.smtp import mail_config


def _sender(world, port, **kwargs) -> OutboxSender:
    return OutboxSender(world.db, mail_config(port), world.signer, world.clock, worker_id="test-worker",
                        rng=lambda: 0.5, **kwargs)


async def test_sends_a_complete_notification(world, smtp_server):
    conversation_id = world.conversation(earlier=[("user", "Where is my order?"), ("agent", "Let me check.")])
    job_id = world.notify(conversation_id, ["Your order shipped.", "Tracking: 123."])
    sender = _sender(world, smtp_server.port)

    assert await sender.run_once() == 1
    await sender.pool.close()

    [received] = smtp_server.received
    message = received.message
    job = world.job(job_id)
    assert job.status is OutboxStatus.sent and job.sent_at == world.clock.now()
    assert received.rcpt_tos == ["alex@example.org"]
    assert received.mail_from == "help@example.com"
    assert message["Message-ID"] == job.message_id
    assert message["From"].addresses[0].display_name == "Acme Help"
    assert message["From"].addresses[0].addr_spec == "help@example.com"
    reply_to = message["Reply-To"].addresses[0].addr_spec
    token = reply_to.split("+", 1)[1].split("@")[0]
    assert reply_to == f"help+{token}@example.com"
    assert world.signer.verify_reply_token(token) == conversation_id
    assert token in job.message_id
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    with world.db.read_session() as session:
        from core.models import Conversation

        public_id = session.get(Conversation, conversation_id).public_id
    assert message["X-Threadline-Conversation"] == public_id
    assert message["In-Reply-To"] is None
    assert message["Subject"] == "2 new replies from Acme Help"

    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "You have 2 unread messages." in text
    assert text.index("Your order shipped.") < text.index("Tracking: 123.")
    assert "Sam Agent" in text and "Reply to this email to continue the conversation." in text
    link = text.split("website: ")[1].split()[0]
    assert link.startswith("https://support.example.com/return/")
    assert world.signer.verify_return_link_token(link.rsplit("/", 1)[1], world.clock.now())[0] == conversation_id
    assert "Earlier in this conversation" in text and "> Where is my order?" in text
    assert text.index("Tracking: 123.") < text.index("Where is my order?")
    assert 'dir="ltr"' in html and "You have 2 unread messages." in html
    assert f'href="{link}"' in html

    with world.db.read_session() as session:
        kinds = [e.kind for e in EventLog(session).after(0, conversation_id=conversation_id)]
    assert "notification.sent" in kinds


async def test_second_notification_threads_under_the_first(world, smtp_server):
    conversation_id = world.conversation()
    first_job = world.notify(conversation_id, ["First reply."])
    sender = _sender(world, smtp_server.port)
    await sender.run_once()
    second_job = world.notify(conversation_id, ["Second reply."])
    await sender.run_once()
    await sender.pool.close()

    first, second = (r.message for r in smtp_server.received)
    assert first["Message-ID"] == world.job(first_job).message_id
    assert second["Message-ID"] == world.job(second_job).message_id
    assert first["Message-ID"] != second["Message-ID"]
    assert second["In-Reply-To"] == first["Message-ID"]
    assert second["References"] == first["Message-ID"]
    assert second["Subject"] == "New reply from Acme Help"
    assert "You have 1 unread message." in second.get_body(("plain",)).get_content()


async def test_user_text_is_escaped_in_html(world, smtp_server):
    conversation_id = world.conversation(name="<b>Alex</b>")
    world.notify(conversation_id, ['Try <script>alert("x")</script> & <a href="evil">this</a>'])
    sender = _sender(world, smtp_server.port)
    await sender.run_once()
    await sender.pool.close()

    message = smtp_server.received[0].message
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "<a href=\"evil\">" not in html and "<b>Alex" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;a href=&#34;evil&#34;&gt;" in html
    assert '<script>alert("x")</script>' in message.get_body(("plain",)).get_content()


async def test_non_ascii_local_part_uses_smtputf8(world, smtp_server):
    conversation_id = world.conversation(email="josé@example.org")
    job_id = world.notify(conversation_id, ["Hola"])
    sender = _sender(world, smtp_server.port)
    await sender.run_once()
    await sender.pool.close()

    [received] = smtp_server.received
    assert received.rcpt_tos == ["josé@example.org"]
    assert "SMTPUTF8" in [o.upper() for o in received.mail_options]
    assert "To: Alex <josé@example.org>".encode() in received.data  # raw UTF-8, as SMTPUTF8 allows
    assert world.job(job_id).status is OutboxStatus.sent


async def test_non_ascii_local_part_fails_clearly_without_smtputf8(world, scripted_smtp_server):
    server = await scripted_smtp_server(["250"], smtputf8=False)
    conversation_id = world.conversation(email="josé@example.org")
    job_id = world.notify(conversation_id, ["Hola"])
    sender = _sender(world, server.port)
    await sender.run_once()
    await sender.pool.close()

    job = world.job(job_id)
    assert server.received == []
    assert job.status is OutboxStatus.failed
    assert "SMTPUTF8" in job.last_error and "josé@example.org" in job.last_error


async def test_nothing_due_leases_nothing(world, smtp_server):
    conversation_id = world.conversation()
    job_id = world.notify(conversation_id, ["Later."])
    with world.db.session() as session:
        job = session.get(__import__("core.models", fromlist=["OutboxJob"]).OutboxJob, job_id)
        job.next_attempt_at = world.clock.now().replace(year=2030)
        session.add(job)
        session.commit()
    sender = _sender(world, smtp_server.port)
    assert await sender.run_once() == 0
    assert smtp_server.received == []


async def test_bounce_marks_job_and_end_user(world, smtp_server):
    conversation_id = world.conversation()
    job_id = world.notify(conversation_id, ["Hi"])
    sender = _sender(world, smtp_server.port)
    await sender.run_once()
    await sender.pool.close()
    message_id = world.job(job_id).message_id
    with world.db.session() as session:
        service = OutboxService(session, world.clock)
        assert service.by_message_id(message_id.strip("<>")).id == job_id
        assert service.by_message_id("<someone-else@example.net>") is None
        service.mark_bounced(message_id, "550 5.1.1 mailbox unknown")
        assert [j.id for j in service.failed_jobs()] == [job_id]
    job = world.job(job_id)
    assert job.status is OutboxStatus.bounced and "mailbox unknown" in job.last_error
    with world.db.read_session() as session:
        assert session.exec(select(EndUser).where(EndUser.email == "alex@example.org")).one().email_failing
        kinds = [e.kind for e in session.exec(select(Event).order_by(col(Event.id)))]
    assert kinds[-1] == "notification.bounced"

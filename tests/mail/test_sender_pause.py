"""Server-wide SMTP failures pause the sender and keep every job; one email's refusal touches that job alone."""
from __future__ import annotations

import asyncio

import pytest
from sqlmodel import col, select

from core.events import EventLog
from core.models import Event, OutboxStatus
from core.outbox import OutboxService
from mail.sender import OutboxSender
from tests.fixtures.smtp import mail_config
from threadline.embedded_smtp import EmbeddedSmtpServer
from tui.live import read_changes

RECIPIENTS = ["ann@example.org", "bob@example.org", "cid@example.org"]


def _sender(world, port, password: str | None = None, **kwargs) -> OutboxSender:
    config = mail_config(port)
    if password is not None:
        config.smtp.username, config.smtp.password = "support", password
    return OutboxSender(world.db, config, world.signer, world.clock, worker_id="test-worker", rng=lambda: 0.5,
                        **kwargs)


def _jobs(world, recipients=RECIPIENTS) -> dict[str, int]:
    return {address: world.notify(world.conversation(email=address), [f"Hello {address}"]) for address in recipients}


def _events(world, *kinds: str) -> list[Event]:
    with world.db.read_session() as session:
        return list(session.exec(select(Event).where(col(Event.kind).in_(kinds)).order_by(col(Event.id))))


def _cursor(world) -> int:
    with world.db.read_session() as session:
        return EventLog(session).latest_id()


def _console_notices(world, cursor: int) -> list[str]:
    """What the console's live follower tells agents about the events after cursor."""
    with world.db.read_session() as session:
        _cursor, change = read_changes(session, cursor)
    return [notice.text for notice in change.notices] if change else []


def _break_greeting_554(server, sender_password):
    server.faults["greeting"] = "554 5.7.1 No SMTP service for you"
    return lambda: server.faults.clear()


def _break_greeting_421(server, sender_password):
    server.faults["greeting"] = "421 4.3.2 Service not available, closing transmission channel"
    return lambda: server.faults.clear()


def _break_ehlo(server, sender_password):
    server.faults["ehlo"] = "550 5.7.1 Not from your network"
    return lambda: server.faults.clear()


def _break_mail_from_530(server, sender_password):
    server.faults["mail"] = "530 5.7.0 Authentication required"
    return lambda: server.faults.clear()


def _break_mail_from_policy(server, sender_password):
    server.faults["mail"] = "550 5.7.1 Sender address rejected: not owned by user"
    return lambda: server.faults.clear()


def _break_auth_535(server, sender_password):
    server.password = "the-new-password"  # someone changed the account's password; our config has the old one

    def mend() -> None:
        server.password = sender_password
    return mend


def _break_data_421(server, sender_password):
    server.faults["data"] = "421 4.7.0 Try again later, closing connection"
    return lambda: server.faults.clear()


SERVER_FAULTS = [
    pytest.param(_break_greeting_554, "greeting", "554", id="554-greeting"),
    pytest.param(_break_greeting_421, "greeting", "421", id="421-greeting"),
    pytest.param(_break_ehlo, "ehlo", "550", id="550-ehlo"),
    pytest.param(_break_mail_from_530, "mail", "530", id="530-mail-from"),
    pytest.param(_break_mail_from_policy, "mail", "5.7.1", id="5.7.1-mail-from"),
    pytest.param(_break_auth_535, "auth", "535", id="535-auth"),
    pytest.param(_break_data_421, "data", "421", id="421-data"),
]


@pytest.mark.parametrize(("break_server", "stage", "code"), SERVER_FAULTS)
async def test_a_server_wide_refusal_pauses_the_sender_and_loses_nothing(world, stage_fault_smtp_server,
                                                                         break_server, stage, code):
    server = await stage_fault_smtp_server(password="s3cret")
    mend = break_server(server, "s3cret")
    job_ids = _jobs(world)
    cursor = _cursor(world)
    sender = _sender(world, server.port, password="s3cret")

    assert await sender.run_once() == 3
    for job_id in job_ids.values():
        job = world.job(job_id)
        # Kept, and not charged: the attempt concerned the server, not this email.
        assert job.status is OutboxStatus.pending and job.attempts == 0, job.last_error
        assert code in job.last_error
    assert server.received == []
    # One batch knocks on at most one connection per pool slot; the rest go back untried.
    assert server.tries[stage] >= 1 and server.connections <= sender.pool.size
    problems = world.db.health.problems()
    assert list(problems) == ["sender"] and code in problems["sender"]

    # While paused nothing is leased or tried, however often the loop looks.
    tries = dict(server.tries)
    first_wait = sender.pause.seconds_left(world.clock.now())
    assert first_wait > 0
    assert await sender.run_once() == 0
    assert server.tries == tries

    # The next try fails too: the pause grows, the jobs stay, agents are not told again.
    world.advance(first_wait)
    assert await sender.run_once() == 3
    assert server.tries[stage] > tries[stage]
    assert sender.pause.seconds_left(world.clock.now()) > first_wait
    assert all(world.job(job_id).status is OutboxStatus.pending for job_id in job_ids.values())

    mend()
    world.advance(sender.pause.seconds_left(world.clock.now()))
    assert await sender.run_once() == 3
    await sender.pool.close()

    assert sorted(r.rcpt_tos[0] for r in server.received) == RECIPIENTS  # each exactly once
    for address, job_id in job_ids.items():
        job = world.job(job_id)
        assert job.status is OutboxStatus.sent and job.attempts == 1
        [received] = [r for r in server.received if r.rcpt_tos == [address]]
        assert received.message["Message-ID"] == job.message_id
    assert world.db.health.problems() == {}
    assert [e.kind for e in _events(world, "sender.paused", "sender.resumed")] == ["sender.paused", "sender.resumed"]
    assert _events(world, "notification.failed") == []
    notices = _console_notices(world, cursor)
    assert len(notices) == 2
    assert "paused" in notices[0] and code in notices[0]
    assert "resumed" in notices[1]


async def test_a_refused_connection_pauses_until_the_server_listens(world, down_smtp_port):
    job_ids = _jobs(world)
    sender = _sender(world, down_smtp_port)
    assert await sender.run_once() == 3
    assert all(world.job(j).status is OutboxStatus.pending and world.job(j).attempts == 0 for j in job_ids.values())
    assert "reached" in world.db.health.problems()["sender"]

    server = EmbeddedSmtpServer(port=down_smtp_port)
    await server.start()
    try:
        assert await sender.run_once() == 0  # still paused: the server is not tried before its time
        assert server.received == []
        world.advance(sender.pause.seconds_left(world.clock.now()))
        assert await sender.run_once() == 3
        await sender.pool.close()
    finally:
        await server.stop()
    assert sorted(r.rcpt_tos[0] for r in server.received) == RECIPIENTS
    assert all(world.job(j).status is OutboxStatus.sent for j in job_ids.values())
    assert world.db.health.problems() == {}
    assert [e.kind for e in _events(world, "sender.paused", "sender.resumed")] == ["sender.paused", "sender.resumed"]


async def test_a_paused_sender_with_nothing_to_send_checks_the_server_and_resumes(world, stage_fault_smtp_server):
    server = await stage_fault_smtp_server({"greeting": "421 4.3.2 Down for maintenance"})
    [job_id] = _jobs(world, ["ann@example.org"]).values()
    sender = _sender(world, server.port)
    await sender.run_once()
    # An agent gives up on the email meanwhile; the server is mended; nothing is left to send.
    with world.db.session() as session:
        OutboxService(session, world.clock).mark_failed(job_id, "given up by an agent")
    server.faults.clear()
    world.advance(sender.pause.seconds_left(world.clock.now()))
    assert await sender.run_once() == 0
    await sender.pool.close()
    assert not sender.pause.active and world.db.health.problems() == {}
    assert [e.kind for e in _events(world, "sender.paused", "sender.resumed")] == ["sender.paused", "sender.resumed"]


RECIPIENT_FAULTS = [
    pytest.param("rcpt", "550 5.1.1 No such mailbox here", OutboxStatus.failed, id="550-5.1.1-rcpt"),
    pytest.param("rcpt", "452 4.2.2 Mailbox full, try later", OutboxStatus.pending, id="452-rcpt"),
    pytest.param("data", "554 5.6.0 Message content rejected", OutboxStatus.failed, id="554-data"),
]


@pytest.mark.parametrize(("stage", "reply", "status"), RECIPIENT_FAULTS)
async def test_a_refusal_of_one_email_touches_that_job_alone(world, stage_fault_smtp_server, stage, reply, status):
    server = await stage_fault_smtp_server({f"{stage}:bob@example.org": reply})
    job_ids = _jobs(world)
    sender = _sender(world, server.port)

    assert await sender.run_once() == 3
    await sender.pool.close()

    bob = world.job(job_ids["bob@example.org"])
    assert bob.status is status and reply in bob.last_error and bob.attempts == 1
    if status is OutboxStatus.pending:  # a temporary refusal retries this job on its own backoff
        assert (bob.next_attempt_at - world.clock.now()).total_seconds() == 22.5
    assert sorted(r.rcpt_tos[0] for r in server.received) == ["ann@example.org", "cid@example.org"]
    assert all(world.job(job_ids[a]).status is OutboxStatus.sent for a in ("ann@example.org", "cid@example.org"))
    assert not sender.pause.active and world.db.health.problems() == {}
    assert _events(world, "sender.paused") == []


async def test_the_running_loop_waits_out_the_pause_and_sends_everything(world, stage_fault_smtp_server):
    server = await stage_fault_smtp_server({"mail": "530 5.7.0 Authentication required"})
    sender = _sender(world, server.port, poll_interval=30)
    task = asyncio.create_task(sender.run())
    try:
        job_ids = _jobs(world)
        sender.nudge()

        async def paused() -> None:
            while not _events(world, "sender.paused"):
                await asyncio.sleep(0.02)
        await asyncio.wait_for(paused(), 10)

        server.faults.clear()
        world.advance(sender.pause.seconds_left(world.clock.now()))
        sender.nudge()  # the loop looks again; the (injected) clock says the pause is over
        await server.wait_for(3)
    finally:
        await sender.stop()
        await asyncio.wait_for(task, 10)

    assert server.tries["mail"] <= sender.pool.size  # the first refusal paused the rest of the batch
    assert all(world.job(j).status is OutboxStatus.sent for j in job_ids.values())
    assert len(server.received) == 3
    assert [e.kind for e in _events(world, "sender.paused", "sender.resumed")] == ["sender.paused", "sender.resumed"]

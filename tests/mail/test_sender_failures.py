"""The sender against servers that fail: temporary and permanent refusals, dropped connections, a server that is down, a
crash."""
from __future__ import annotations

import asyncio
import email
import email.policy
from datetime import timedelta

from sqlmodel import col, select

from core.errors import InvalidTransition
from core.models import Event, OutboxStatus
from core.outbox import OutboxService, backoff_delay
from mail.sender import OutboxSender
from tests.fixtures.smtp import mail_config
from threadline.embedded_smtp import EmbeddedSmtpServer


def _sender(world, port, **kwargs) -> OutboxSender:
    kwargs.setdefault("worker_id", "test-worker")
    return OutboxSender(world.db, mail_config(port), world.signer, world.clock, rng=lambda: 0.5, **kwargs)


def _message_id(raw: bytes) -> str:
    return email.message_from_bytes(raw, policy=email.policy.default)["Message-ID"]


def _due_in(world, job) -> float:
    return (job.next_attempt_at - world.clock.now()).total_seconds()


def test_backoff_grows_and_is_capped():
    low = [backoff_delay(n, rng=lambda: 0.0) for n in range(1, 12)]
    high = [backoff_delay(n, rng=lambda: 1.0) for n in range(1, 12)]
    assert low[:3] == [15.0, 30.0, 60.0]
    # Below the cap, jitter never makes a later wait shorter than an earlier one.
    assert all(high[i] <= low[i + 1] for i in range(6))
    assert max(high) == 3600.0 and min(low[7:]) == 1800.0


async def test_451_then_250_is_retried_and_sent_once(world, scripted_smtp_server):
    # A temporary refusal of this email at DATA retries the job alone (421 would close the channel: a pause).
    server = await scripted_smtp_server(["451 4.3.0 Temporary local problem, try later", "250"])
    job_id = world.notify(world.conversation(), ["Hello again"])
    sender = _sender(world, server.port)

    await sender.run_once()
    job = world.job(job_id)
    assert job.status is OutboxStatus.pending and job.attempts == 1
    assert "451" in job.last_error and _due_in(world, job) == 22.5
    assert await sender.run_once() == 0  # not due yet

    world.advance(22.5)
    await sender.run_once()
    await sender.pool.close()
    job = world.job(job_id)
    assert job.status is OutboxStatus.sent and job.attempts == 2
    assert len(server.received) == 1
    assert server.received[0].message["Message-ID"] == job.message_id


async def test_550_fails_for_good_with_the_reason(world, scripted_smtp_server):
    server = await scripted_smtp_server(["550 5.1.1 No such mailbox here"])
    job_id = world.notify(world.conversation(), ["Hello"])
    sender = _sender(world, server.port)
    await sender.run_once()
    world.advance(3600)
    assert await sender.run_once() == 0
    await sender.pool.close()

    job = world.job(job_id)
    assert job.status is OutboxStatus.failed
    assert "550 5.1.1 No such mailbox here" in job.last_error
    assert server.received == [] and server.handler.attempts == 1
    with world.db.read_session() as session:
        assert [j.id for j in OutboxService(session, world.clock).failed_jobs()] == [job_id]
        event = session.exec(select(Event).where(Event.kind == "notification.failed")).one()
    assert "No such mailbox" in event.payload["reason"]


async def test_connection_dropped_mid_data_is_retried_with_the_same_message_id(world, scripted_smtp_server):
    server = await scripted_smtp_server(["drop", "250"])
    job_id = world.notify(world.conversation(), ["Hello"])
    sender = _sender(world, server.port)
    await sender.run_once()
    job = world.job(job_id)
    assert job.status is OutboxStatus.pending and job.last_error

    # A lost connection is the server's trouble: the sender pauses and the job waits for it.
    world.advance(sender.pause.seconds_left(world.clock.now()))
    await sender.run_once()
    await sender.pool.close()
    job = world.job(job_id)
    assert job.status is OutboxStatus.sent
    assert len(server.handler.seen) == 2 and len(server.received) == 1
    assert {_message_id(raw) for raw in server.handler.seen} == {job.message_id}


async def test_down_server_backs_off_and_loses_nothing(world, down_smtp_port):
    job_ids = [world.notify(world.conversation(email=f"user{i}@example.org"), [f"Reply {i}"]) for i in range(3)]
    sender = _sender(world, down_smtp_port)
    waits = []
    for _attempt in range(4):
        assert await sender.run_once() == 3
        jobs = [world.job(j) for j in job_ids]
        # The sender pauses as a whole; the jobs are not charged for the server's outage.
        assert all(j.status is OutboxStatus.pending and j.attempts == 0 for j in jobs)
        waits.append(sender.pause.seconds_left(world.clock.now()))
        assert await sender.run_once() == 0  # paused: nothing is leased
        world.advance(waits[-1])
    assert waits == [22.5, 45.0, 90.0, 180.0]
    assert (
        "ConnectionRefused" in world.job(job_ids[0]).last_error or "connect" in world.job(job_ids[0]).last_error.lower()
    )

    server = EmbeddedSmtpServer(port=down_smtp_port)
    await server.start()
    try:
        assert await sender.run_once() == 3
        await sender.pool.close()
    finally:
        await server.stop()
    assert sorted(r.rcpt_tos[0] for r in server.received) == [
        "user0@example.org",
        "user1@example.org",
        "user2@example.org",
    ]
    assert all(world.job(j).status is OutboxStatus.sent for j in job_ids)


async def test_crash_between_send_and_record_resends_the_same_email_once(world, smtp_server):
    job_id = world.notify(world.conversation(), ["Hello"])
    crashing = _sender(world, smtp_server.port, worker_id="doomed", lease_seconds=60)

    def crash(outcomes):
        raise RuntimeError("process killed before recording")

    crashing._record = crash  # the emails go out, the record never happens
    try:
        await crashing.run_once()
    except RuntimeError:
        pass
    await crashing.pool.close()
    assert len(smtp_server.received) == 1
    assert world.job(job_id).status is OutboxStatus.pending

    survivor = _sender(world, smtp_server.port, worker_id="survivor")
    assert await survivor.run_once() == 0  # the lease still holds
    world.advance(61)
    assert await survivor.run_once() == 1
    await survivor.pool.close()
    job = world.job(job_id)
    assert job.status is OutboxStatus.sent and job.attempts == 2
    ids = [r.message["Message-ID"] for r in smtp_server.received]
    assert ids == [job.message_id, job.message_id]
    with world.db.read_session() as session:
        sent_events = session.exec(select(Event).where(Event.kind == "notification.sent")).all()
    assert len(sent_events) == 1


async def test_agent_retry_sends_a_failed_email_again(world, scripted_smtp_server):
    server = await scripted_smtp_server(["554 5.7.1 Rejected for policy reasons", "250"])
    job_id = world.notify(world.conversation(), ["Hello"])
    sender = _sender(world, server.port)
    await sender.run_once()
    assert world.job(job_id).status is OutboxStatus.failed
    with world.db.session() as session:
        OutboxService(session, world.clock).retry(job_id)
    await sender.run_once()
    await sender.pool.close()
    assert world.job(job_id).status is OutboxStatus.sent
    assert len(server.received) == 1
    with world.db.read_session() as session:
        kinds = [e.kind for e in session.exec(select(Event).order_by(col(Event.id)))]
    assert kinds[-5:] == ["notification.leased", "notification.failed", "notification.retried",
                          "notification.leased", "notification.sent"]


async def test_run_stops_cleanly_after_its_batch(world, smtp_server):
    sender = _sender(world, smtp_server.port, poll_interval=30)
    task = asyncio.create_task(sender.run())
    job_id = world.notify(world.conversation(), ["Hello"])
    sender.nudge()
    await smtp_server.wait_for(1)
    await sender.stop()
    await asyncio.wait_for(task, 10)
    assert world.job(job_id).status is OutboxStatus.sent
    assert sender.pool._idle == []


def test_retry_refuses_a_pending_job(world):
    job_id = world.notify(world.conversation(), ["Hello"])
    with world.db.session() as session:
        try:
            OutboxService(session, world.clock).retry(job_id)
        except InvalidTransition as exc:
            assert "Only a failed or bounced email can be retried" in str(exc)
        else:
            raise AssertionError("retry of a pending job was accepted")
    assert world.job(job_id).status is OutboxStatus.pending


def test_a_held_lease_delays_the_next_attempt(world):
    job_id = world.notify(world.conversation(), ["Hello"])
    with world.db.session() as session:
        service = OutboxService(session, world.clock)
        assert service.next_attempt_at() == world.clock.now()
        [_job] = service.lease("crashed", 10, lease_seconds=120)
        assert service.next_attempt_at() == world.clock.now() + timedelta(seconds=120)
        assert service.lease("other", 10, lease_seconds=120) == []
        service.mark_retry(job_id, "421 busy", delay=30)
        assert service.next_attempt_at() == world.clock.now() + timedelta(seconds=30)


def test_concurrent_workers_never_lease_the_same_job(world):
    import threading

    job_ids = {world.notify(world.conversation(email=f"u{i}@example.org"), ["Hi"]) for i in range(30)}
    leased: dict[str, list[int]] = {"a": [], "b": [], "c": []}
    start = threading.Barrier(len(leased))

    def work(worker: str) -> None:
        start.wait()
        while True:
            with world.db.session() as session:
                jobs = OutboxService(session, world.clock).lease(worker, 4, lease_seconds=300)
            if not jobs:
                return
            leased[worker].extend(job.id for job in jobs)

    threads = [threading.Thread(target=work, args=(name,)) for name in leased]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    everything = [job_id for ids in leased.values() for job_id in ids]
    assert sorted(everything) == sorted(job_ids)  # each job exactly once


async def test_cancelling_mid_batch_records_what_was_sent(world, smtp_server):
    import asyncio

    gate, second_arrived = asyncio.Event(), asyncio.Event()
    keep = smtp_server.accept

    async def slow_second(received):
        if len(smtp_server.received) >= 1:
            second_arrived.set()  # one pooled connection: the first email's reply was read before this
            await gate.wait()  # the second email hangs in DATA until the test is over
        return await keep(received)

    smtp_server.accept = slow_second
    first = world.notify(world.conversation(email="first@example.org"), ["One"])
    second = world.notify(world.conversation(email="second@example.org"), ["Two"])
    sender = _sender(world, smtp_server.port)
    sender.pool.size = 1
    sender.pool._slots = asyncio.Semaphore(1)
    task = asyncio.create_task(sender.run())
    await asyncio.wait_for(second_arrived.wait(), 10)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    gate.set()
    assert world.job(first).status is OutboxStatus.sent
    assert world.job(second).status is OutboxStatus.pending and world.job(second).locked_until is not None

"""OutboxService bookkeeping the sender and the inbound side rely on: idempotent records, bounces, threading ids."""
from __future__ import annotations

import pytest
from sqlmodel import select

from core.errors import NotFound
from core.models import EndUser, Event, OutboxStatus
from core.outbox import OutboxService


def test_recording_a_send_twice_changes_nothing(world):
    job_id = world.notify(world.conversation(), ["Hi"])
    with world.db.session() as session:
        service = OutboxService(session, world.clock)
        service.lease("w", 1, 60)
        first = service.mark_sent(job_id, "250 ok")
        world.advance(10)
        again = service.mark_sent(job_id, "250 ok")
        assert again.sent_at == first.sent_at
        assert len(session.exec(select(Event).where(Event.kind == "notification.sent")).all()) == 1
        # A late retry or failure for a job already sent is ignored too.
        assert service.mark_retry(job_id, "421 late").status is OutboxStatus.sent
        assert service.mark_failed(job_id, "550 late").status is OutboxStatus.sent


def test_bounce_by_job_id_and_unknown_message_ids(world):
    job_id = world.notify(world.conversation(email="gone@example.org"), ["Hi"])
    with world.db.session() as session:
        service = OutboxService(session, world.clock)
        with pytest.raises(NotFound):
            service.mark_bounced("<nobody@example.net>", "550")
        service.mark_bounced(job_id, "550 5.1.1 gone")
        assert session.exec(select(EndUser).where(EndUser.email == "gone@example.org")).one().email_failing
        assert service.get(job_id).status is OutboxStatus.bounced


def test_sent_message_ids_thread_only_earlier_sent_emails(world):
    conversation_id = world.conversation()
    ids = [world.notify(conversation_id, [f"Reply {i}"]) for i in range(3)]
    with world.db.session() as session:
        service = OutboxService(session, world.clock)
        service.lease("w", 3, 60)
        service.mark_sent(ids[0])
        service.mark_failed(ids[1], "550 no")
        service.mark_sent(ids[2])
        first, _failed, third = (service.get(i).message_id for i in ids)
        assert service.sent_message_ids_for(conversation_id) == [first, third]
        assert service.sent_message_ids_for(conversation_id, before_job_id=ids[2]) == [first]
        assert service.by_message_id(third).id == service.by_message_id(third.strip("<>")).id == ids[2]


def test_temporary_failures_give_up_after_the_last_attempt(world):
    from core.outbox import MAX_ATTEMPTS

    job_id = world.notify(world.conversation(), ["Hi"])
    with world.db.session() as session:
        service = OutboxService(session, world.clock)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            [job] = service.lease("w", 1, 60)
            assert job.attempts == attempt
            service.mark_retry(job_id, f"421 busy ({attempt})")
            world.advance(7200)
        job = service.get(job_id)
        assert job.status is OutboxStatus.failed
        assert f"Gave up after {MAX_ATTEMPTS} attempts" in job.last_error and f"({MAX_ATTEMPTS})" in job.last_error

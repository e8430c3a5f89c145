"""Claiming notifications: Message-IDs, the unverified-address flood guard, and two workers claiming at once."""
import threading
from datetime import timedelta

from sqlmodel import func, select

from core.clock import FixedClock
from core.models import Event, OutboxJob
from core.notifications import NotificationService
from core.tokens import TokenSigner

MINUTE = timedelta(minutes=1)


def due_conversation(desk, email="ann@example.com", verified=True):
    conversation = desk.start(email, verified=verified, present=False)
    desk.reply(conversation)
    return conversation


def test_message_id_uses_the_reply_token_and_the_configured_domain(desk):
    conversation = due_conversation(desk)
    desk.clock.advance(5 * MINUTE)
    signer = TokenSigner("s" * 32)
    service = NotificationService(desk.session, desk.clock, signer=signer, message_id_domain="mail.example.org")
    job = service.claim(conversation.id, worker="w1")
    token = signer.reply_token(conversation.id)
    assert job.message_id.startswith(f"<tl.{token}.") and job.message_id.endswith("@mail.example.org>")
    assert job.payload == {"claimed_by": "w1"}


def test_claim_before_due_creates_nothing(desk):
    conversation = due_conversation(desk)
    desk.clock.advance(4 * MINUTE)
    assert desk.notifications.claim(conversation.id) is None
    assert desk.jobs() == []


def test_unverified_address_gets_at_most_three_notifications_a_day(desk):
    conversation = due_conversation(desk, verified=False)
    first_job_at = None
    for _ in range(3):
        desk.clock.advance(5 * MINUTE)
        [job] = desk.notifications.claim_due()
        first_job_at = first_job_at or job.created_at
        desk.clock.advance(MINUTE)
        desk.reply(conversation)
    desk.clock.advance(5 * MINUTE)
    assert desk.notifications.claim_due() == []
    assert len(desk.jobs()) == 3
    assert desk.refreshed(conversation).notify_due_at == first_job_at + timedelta(hours=24)
    deferred = desk.session.exec(
        select(func.count()).select_from(Event).where(Event.kind == "notification.deferred")
    ).one()
    assert deferred == 1
    desk.clock.set(first_job_at + timedelta(hours=24))
    [job] = desk.notifications.claim_due()
    assert job.last_seq == desk.refreshed(conversation).last_seq


def test_verified_addresses_are_not_limited(desk):
    conversation = due_conversation(desk, verified=True)
    for _ in range(5):
        desk.clock.advance(5 * MINUTE)
        assert len(desk.notifications.claim_due()) == 1
        desk.reply(conversation)
    assert len(desk.jobs()) == 5


def test_the_guard_counts_across_one_end_users_conversations_in_one_batch(desk):
    first = due_conversation(desk, "same@example.com", verified=False)
    end_user_id = first.end_user_id
    others = [desk.conversations.start_conversation(end_user_id) for _ in range(4)]
    for conversation in others:
        desk.reply(conversation)
    desk.clock.advance(5 * MINUTE)
    assert len(desk.notifications.claim_due()) == 3


def test_two_workers_claiming_at_once_make_exactly_one_job_per_batch(desk, db):
    conversations = [due_conversation(desk, f"u{i}@example.com") for i in range(40)]
    desk.clock.advance(5 * MINUTE)
    barrier = threading.Barrier(2)
    claimed: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            with db.session() as session:
                service = NotificationService(session, FixedClock(desk.clock.now()))
                barrier.wait()
                mine = []
                while True:
                    jobs = service.claim_due(limit=7, worker=name)
                    if not jobs:
                        break
                    mine.extend(job.conversation_id for job in jobs)
                # Also try each conversation directly: every batch is claimed already.
                for conversation in conversations:
                    if service.claim(conversation.id, worker=name) is not None:
                        mine.append(conversation.id)
                claimed[name] = mine
        except BaseException as exc:  # noqa: BLE001 - surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    all_claimed = claimed["a"] + claimed["b"]
    assert sorted(all_claimed) == sorted(c.id for c in conversations)
    with db.session() as session:
        per_conversation = session.exec(
            select(OutboxJob.conversation_id, func.count()).group_by(OutboxJob.conversation_id)).all()
    assert len(per_conversation) == 40 and {count for _, count in per_conversation} == {1}

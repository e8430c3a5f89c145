"""The inactivity rules, step by step with a fixed clock: when an unread agent reply is emailed, and when not."""
from datetime import timedelta

from sqlmodel import select

from core.end_users import EndUserService
from core.models import AuthorKind, Event

MINUTE = timedelta(minutes=1)


def left(desk, email="ann@example.com", **kwargs):
    conversation = desk.start(email, **kwargs)
    desk.presence.report(conversation.id, "left")
    return conversation


def test_unread_reply_is_due_one_inactivity_period_after_it_was_posted(desk):
    conversation = left(desk)
    desk.reply(conversation)
    posted = desk.clock.now()
    assert desk.refreshed(conversation).notify_due_at == posted + 5 * MINUTE
    desk.clock.advance(5 * MINUTE - timedelta(seconds=1))
    assert desk.notifications.due() == []
    desk.clock.advance(timedelta(seconds=1))
    assert desk.notifications.due() == [conversation.id]
    assert desk.notifications.next_due_at() == posted + 5 * MINUTE


def test_read_just_before_due_is_never_emailed(desk):
    conversation = left(desk)
    seq = desk.reply(conversation)
    desk.clock.advance(5 * MINUTE - timedelta(seconds=1))
    desk.conversations.mark_read(conversation.id, AuthorKind.end_user, seq)
    assert desk.refreshed(conversation).notify_due_at is None
    desk.clock.advance(60 * MINUTE)
    assert desk.notifications.claim_due() == []
    assert desk.jobs() == []


def test_leave_and_return_within_the_period_is_not_emailed(desk):
    conversation = desk.start()
    seq = desk.reply(conversation)
    desk.clock.advance(MINUTE)
    desk.presence.report(conversation.id, "left")
    desk.clock.advance(2 * MINUTE)
    desk.presence.report(conversation.id, "connected")
    desk.clock.advance(MINUTE)
    desk.conversations.mark_read(conversation.id, AuthorKind.end_user, seq)
    desk.clock.advance(30 * MINUTE)
    assert desk.notifications.claim_due() == []


def test_heartbeats_keep_the_end_user_present_and_leaving_makes_it_due(desk):
    conversation = desk.start()
    desk.reply(conversation)
    posted = desk.clock.now()
    for _ in range(40):  # 20 minutes of heartbeats every 30 s, the reply unread all along
        desk.clock.advance(timedelta(seconds=30))
        desk.presence.report(conversation.id, "heartbeat")
        assert desk.notifications.claim_due() == []
    assert desk.refreshed(conversation).notify_due_at == desk.clock.now() + timedelta(seconds=60)
    desk.presence.report(conversation.id, "left")
    assert desk.clock.now() > posted + 5 * MINUTE
    [job] = desk.notifications.claim_due()
    assert job.conversation_id == conversation.id


def test_silent_client_stops_being_present_after_the_timeout(desk):
    conversation = desk.start()  # connected, then the tab is closed without saying so
    desk.reply(conversation)
    desk.clock.advance(5 * MINUTE)
    assert desk.notifications.claim_due() != []


def test_two_replies_then_one_email_holding_both(desk):
    conversation = left(desk)
    first = desk.reply(conversation, "one")
    desk.clock.advance(2 * MINUTE)
    second = desk.reply(conversation, "two")
    desk.clock.advance(3 * MINUTE)  # five minutes after the oldest
    [job] = desk.notifications.claim_due()
    assert (job.first_seq, job.last_seq) == (first, second)
    assert job.idempotency_key == f"notify:{conversation.id}:{second}"
    assert job.to_address == "ann@example.com"
    assert job.message_id.startswith(f"<tl.c{conversation.id}.") and job.message_id.endswith("@example.com>")
    refreshed = desk.refreshed(conversation)
    assert refreshed.notified_seq == second and refreshed.notify_due_at is None
    assert desk.notifications.claim(conversation.id) is None  # claimed once, never again
    kinds = [e.kind for e in desk.session.exec(select(Event).where(Event.conversation_id == conversation.id))]
    assert kinds.count("notification.queued") == 1


def test_a_third_reply_after_the_email_gets_its_own_email(desk):
    conversation = left(desk)
    desk.reply(conversation, "one")
    desk.reply(conversation, "two")
    desk.clock.advance(5 * MINUTE)
    [first_job] = desk.notifications.claim_due()
    desk.clock.advance(MINUTE)
    third = desk.reply(conversation, "three")
    assert desk.refreshed(conversation).notify_due_at == desk.clock.now() + 5 * MINUTE
    desk.clock.advance(5 * MINUTE)
    [second_job] = desk.notifications.claim_due()
    assert (second_job.first_seq, second_job.last_seq) == (third, third)
    assert second_job.message_id != first_job.message_id


def test_a_partly_read_batch_holds_only_the_unread_replies(desk):
    conversation = left(desk)
    first = desk.reply(conversation, "one")
    desk.clock.advance(MINUTE)
    second = desk.reply(conversation, "two")
    desk.conversations.mark_read(conversation.id, AuthorKind.end_user, first)
    # The oldest unread reply is now the second one: due five minutes after it.
    assert desk.refreshed(conversation).notify_due_at == desk.clock.now() + 5 * MINUTE
    desk.clock.advance(5 * MINUTE)
    [job] = desk.notifications.claim_due()
    assert (job.first_seq, job.last_seq) == (second, second)


def test_a_reply_without_email_fallback_never_starts_or_joins_a_notification(desk):
    conversation = left(desk)
    desk.reply(conversation, "chat only", email_fallback=False)
    assert desk.refreshed(conversation).notify_due_at is None
    desk.clock.advance(10 * MINUTE)
    mailed = desk.reply(conversation, "mail me")
    desk.reply(conversation, "chat only too", email_fallback=False)
    desk.clock.advance(5 * MINUTE)
    [job] = desk.notifications.claim_due()
    assert (job.first_seq, job.last_seq) == (mailed, mailed)


def test_feature_off_clears_schedules_and_on_again_emails_nothing_old(desk):
    conversation = left(desk)
    desk.reply(conversation, "old")
    desk.settings.update(continuous_conversations=False)
    assert desk.refreshed(conversation).notify_due_at is None
    desk.clock.advance(10 * MINUTE)
    desk.reply(conversation, "while off")
    assert desk.refreshed(conversation).notify_due_at is None
    assert desk.notifications.claim_due() == []
    desk.settings.update(continuous_conversations=True)
    desk.clock.advance(60 * MINUTE)
    assert desk.notifications.claim_due() == []
    new = desk.reply(conversation, "new")
    desk.clock.advance(5 * MINUTE)
    [job] = desk.notifications.claim_due()
    assert (job.first_seq, job.last_seq) == (new, new)


def test_no_email_address_means_no_schedule_until_one_is_given(desk):
    conversation = left(desk, email=None)
    seq = desk.reply(conversation)
    assert desk.refreshed(conversation).notify_due_at is None
    desk.clock.advance(10 * MINUTE)
    assert desk.notifications.claim_due() == []
    EndUserService(desk.session, desk.clock).set_email(conversation.end_user_id, "ann@example.com")
    [job] = desk.notifications.claim_due()  # the reply waited long enough already
    assert job.last_seq == seq and job.to_address == "ann@example.com"


def test_solved_conversation_is_not_emailed(desk):
    conversation = left(desk)
    desk.reply(conversation)
    desk.conversations.set_status(conversation.id, "solved")
    assert desk.refreshed(conversation).notify_due_at is None
    desk.clock.advance(10 * MINUTE)
    assert desk.notifications.claim_due() == []


def test_blocked_or_bouncing_end_users_are_not_emailed(desk):
    blocked, bouncing = left(desk, "a@example.com"), left(desk, "b@example.com")
    desk.reply(blocked)
    desk.reply(bouncing)
    EndUserService(desk.session, desk.clock).block(blocked.end_user_id)
    end_user = desk.end_user(bouncing)
    end_user.email_failing = True
    desk.session.add(end_user)
    desk.session.commit()
    desk.clock.advance(10 * MINUTE)
    assert desk.notifications.claim_due() == []  # the stored due time is rechecked at claim time
    assert desk.jobs() == []
    assert desk.refreshed(bouncing).notify_due_at is None


def test_business_hours_do_not_hold_back_an_email(desk):
    desk.settings.update(business_hours={"timezone": "UTC", "days": {}})  # closed all week
    conversation = left(desk)
    desk.reply(conversation)
    desk.clock.advance(5 * MINUTE)
    assert len(desk.notifications.claim_due()) == 1


def test_a_longer_inactivity_period_moves_pending_due_times(desk):
    conversation = left(desk)
    desk.reply(conversation)
    posted = desk.clock.now()
    desk.settings.update(inactivity_minutes=30)
    assert desk.refreshed(conversation).notify_due_at == posted + 30 * MINUTE


def test_job_language_is_the_end_users_preference_then_the_conversations_then_the_default(desk):
    german = left(desk, "de@example.com", language="de-AT")
    plain = left(desk, "x@example.com")
    desk.reply(german)
    desk.reply(plain)
    desk.settings.update(default_language="fr")
    desk.clock.advance(5 * MINUTE)
    languages = {job.conversation_id: job.language for job in desk.notifications.claim_due()}
    assert languages == {german.id: "de_AT", plain.id: "fr"}

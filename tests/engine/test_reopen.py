"""Reopening a solved conversation: replies that were unread at the solve are never emailed afterwards."""
from datetime import timedelta

MINUTE = timedelta(minutes=1)


def solved_with_an_unread_reply(desk):
    conversation = desk.start(present=False)
    desk.reply(conversation, "Answer before the solve")
    desk.clock.advance(MINUTE)
    desk.conversations.set_status(conversation.id, "solved")
    return conversation


def test_an_agent_reopening_a_solved_conversation_emails_nothing_from_before_the_solve(desk):
    conversation = solved_with_an_unread_reply(desk)
    desk.clock.advance(10 * MINUTE)
    desk.conversations.set_status(conversation.id, "open")
    assert desk.refreshed(conversation).notify_due_at is None
    desk.clock.advance(10 * MINUTE)
    assert desk.notifications.claim_due() == []
    assert desk.jobs() == []


def test_after_a_reopen_a_new_reply_is_emailed_alone(desk):
    conversation = solved_with_an_unread_reply(desk)
    desk.clock.advance(10 * MINUTE)
    desk.conversations.set_status(conversation.id, "queued")
    seq = desk.reply(conversation, "Answer after the reopen")
    desk.clock.advance(5 * MINUTE)
    [job] = desk.notifications.claim_due()
    assert (job.first_seq, job.last_seq) == (seq, seq)


def test_a_reply_written_while_solved_is_emailed_once_reopened(desk):
    # Only what was there at the solve is settled; an agent who writes after the solve and reopens means it.
    conversation = solved_with_an_unread_reply(desk)
    seq = desk.reply(conversation, "One more thing")
    desk.conversations.set_status(conversation.id, "open")
    desk.clock.advance(5 * MINUTE)
    [job] = desk.notifications.claim_due()
    assert (job.first_seq, job.last_seq) == (seq, seq)

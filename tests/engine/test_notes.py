"""Internal notes stay with agents: no seq, no read mark, no waiting time, no notification, no first response."""
from datetime import timedelta

import pytest
from sqlmodel import col, select

from core.collaboration import CollaborationService
from core.errors import InvalidInput
from core.events import EventLog
from core.models import ConversationNote, Event, Message
from core.wait_time import recent_first_responses

MINUTE = timedelta(minutes=1)


def notes(desk) -> CollaborationService:
    return CollaborationService(desk.session, desk.clock)


def test_a_note_changes_nothing_the_end_user_or_the_notifier_sees(desk):
    conversation = desk.start(present=False)
    desk.reply(conversation, "We are on it")  # unread by the end user: a notification is due
    before = desk.refreshed(conversation)
    state = (before.last_seq, before.end_user_read_seq, before.agent_read_seq, before.waiting_since,
             before.status, before.notify_due_at, before.notified_seq, before.updated_at)
    cursor = EventLog(desk.session).latest_id()
    desk.clock.advance(MINUTE)
    note = notes(desk).add_note(conversation.id, desk.agent.id, "Customer is a VIP, be quick")
    after = desk.refreshed(conversation)
    assert (after.last_seq, after.end_user_read_seq, after.agent_read_seq, after.waiting_since, after.status,
            after.notify_due_at, after.notified_seq, after.updated_at) == state
    assert note.after_seq == before.last_seq
    assert desk.session.exec(select(Message).where(col(Message.body).contains("VIP"))).all() == []
    [event] = EventLog(desk.session).after(cursor)
    # The log is followed outside core/ (the widget's feed): it names the note, never its text.
    assert event.kind == "note.added" and event.payload == {"note_id": note.id, "agent_id": desk.agent.id}


def test_a_note_in_a_waiting_conversation_is_no_first_response_and_fires_no_trigger(desk):
    conversation = desk.start()
    waiting = desk.refreshed(conversation).waiting_since
    desk.clock.advance(3 * MINUTE)
    notes(desk).add_note(conversation.id, desk.agent.id, "Looking into it")
    assert desk.refreshed(conversation).waiting_since == waiting
    assert recent_first_responses(desk.session, desk.clock.now() - timedelta(days=1)) == []
    kinds = [e.kind for e in desk.session.exec(select(Event).where(Event.conversation_id == conversation.id))]
    assert "trigger.fired" not in kinds and kinds.count("message.posted") == 1  # the end user's only
    desk.reply(conversation)
    assert recent_first_responses(desk.session, desk.clock.now() - timedelta(days=1)) == [180.0]


def test_notes_keep_their_place_after_a_message(desk):
    conversation = desk.start()
    first = notes(desk).add_note(conversation.id, desk.agent.id, "one")
    seq = desk.reply(conversation)
    second = notes(desk).add_note(conversation.id, desk.agent.id, "two")
    assert (first.after_seq, second.after_seq) == (1, seq)
    assert [n.body for n in notes(desk).notes(conversation.id)] == ["one", "two"]
    assert [n.body for n in notes(desk).notes(conversation.id, after_seq=seq)] == ["two"]


def test_empty_or_control_character_notes_are_refused(desk):
    conversation = desk.start()
    for body in ("  \n ", "bad \x1b[31m"):
        with pytest.raises(InvalidInput):
            notes(desk).add_note(conversation.id, desk.agent.id, body)
    assert desk.session.exec(select(ConversationNote)).all() == []

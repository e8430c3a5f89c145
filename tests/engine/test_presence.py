"""Presence reports: the flags they set, the events they write (only on a flip), and bad input."""
from datetime import timedelta

import pytest
from sqlmodel import select

from core.errors import InvalidInput, NotFound
from core.inactivity import is_present
from core.models import Event


def presence_events(desk, conversation):
    query = select(Event).where(Event.conversation_id == conversation.id, Event.kind == "presence.changed")
    return [e.payload["present"] for e in desk.session.exec(query)]


def test_only_flips_are_logged(desk):
    conversation = desk.start(present=False)
    for state in ("connected", "heartbeat", "heartbeat", "left", "left", "connected"):
        desk.clock.advance(timedelta(seconds=10))
        desk.presence.report(conversation.id, state)
    assert presence_events(desk, conversation) == [True, False, True]


def test_a_heartbeat_after_the_timeout_counts_as_coming_back(desk):
    conversation = desk.start()
    desk.clock.advance(timedelta(seconds=61))
    settings = desk.settings.load()
    assert not is_present(desk.refreshed(conversation), settings, desk.clock.now())
    desk.presence.report(conversation.id, "heartbeat")
    assert is_present(desk.refreshed(conversation), settings, desk.clock.now())
    assert presence_events(desk, conversation) == [True, True]


def test_leaving_keeps_the_conversation_open(desk):
    conversation = desk.start()
    desk.presence.report(conversation.id, "left")
    refreshed = desk.refreshed(conversation)
    assert refreshed.status.value == "queued" and not refreshed.end_user_present
    assert refreshed.end_user_last_seen_at == desk.clock.now()


def test_unknown_state_or_conversation_is_refused(desk):
    conversation = desk.start(present=False)
    with pytest.raises(InvalidInput, match="connected, heartbeat or left"):
        desk.presence.report(conversation.id, "away")
    with pytest.raises(NotFound):
        desk.presence.report(999_999, "connected")
    assert presence_events(desk, conversation) == []

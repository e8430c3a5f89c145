"""ConversationService: every operation, its errors, and that a refused change changes nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from core.agents import AgentService
from core.conversations import ConversationService
from core.errors import InvalidInput, InvalidTransition, NotFound
from core.events import EventLog
from core.listing import QueueListing
from core.models import AuthorKind, Channel, ConversationStatus, Event, Message


@pytest.fixture
def service(session, clock):
    return ConversationService(session, clock, max_body_chars=100)


@pytest.fixture
def agent(session, clock):
    return AgentService(session, clock).add("ana", "Ana Agent")


@pytest.fixture
def conversation(service):
    user = service.create_end_user("Eve", "eve@example.com", "de")
    return service.start_conversation(user.id)


def _waiting(service, offset=0, limit=100):
    """The queue's rows that wait for an agent, as the console lists them."""
    page = QueueListing(service.session, service.clock).page("all", offset=offset, limit=limit)
    return [row for row in page.rows if row.waiting_since is not None]


def _event_count(session) -> int:
    return len(list(session.exec(select(Event))))


def test_start_conversation_is_queued_and_logged(service, session):
    user = service.create_end_user("Eve", None, "pt-BR")
    conversation = service.start_conversation(user.id)
    assert conversation.status is ConversationStatus.queued
    assert conversation.language == "pt_BR"
    assert len(conversation.public_id) >= 16
    kinds = [e.kind for e in EventLog(session).after(0)]
    assert kinds == ["end_user.created", "conversation.started"]


def test_start_conversation_for_unknown_end_user_fails(service, session):
    with pytest.raises(NotFound, match="no end user"):
        service.start_conversation(999)
    assert _event_count(session) == 0


def test_messages_get_contiguous_seqs_and_enter_queue(service, conversation, agent, clock):
    first = service.post_end_user_message(conversation.id, "Hello?")
    clock.advance(30)
    second = service.post_end_user_message(conversation.id, "Anyone there?")
    assert (first.seq, second.seq) == (1, 2)
    [entry] = _waiting(service)
    assert entry.conversation_id == conversation.id
    assert entry.unread_for_agents == 2
    assert (clock.now() - entry.waiting_since).total_seconds() == 30
    reply = service.post_agent_message(conversation.id, agent.id, "Hi Eve")
    assert reply.seq == 3
    assert reply.channel is Channel.messaging
    refreshed = service.get(conversation.id)
    assert refreshed.assignee_id == agent.id
    assert refreshed.status is ConversationStatus.open
    assert refreshed.agent_read_seq == 3
    assert service.unread_count(refreshed, AuthorKind.end_user) == 1
    assert _waiting(service) == []  # the agents spoke last: nobody is waiting


@pytest.mark.parametrize(
    "body, reason",
    [
        ("", "empty"),
        ("  \n\t ", "empty"),
        ("x" * 101, "limit is 100"),
        ("nul \x00 here", "U\\+0000"),
        ("escape \x1b[31m red", "U\\+001B"),
        ("bell \x07", "U\\+0007"),
        ("c1 \x9b control", "U\\+009B"),
    ],
)
def test_bad_bodies_are_refused_and_change_nothing(service, conversation, session, body, reason):
    events_before = _event_count(session)
    with pytest.raises(InvalidInput, match=reason):
        service.post_end_user_message(conversation.id, body)
    assert _event_count(session) == events_before
    assert service.get(conversation.id).last_seq == 0
    assert session.exec(select(Message)).all() == []


def test_newlines_and_tabs_are_kept_and_crlf_unified(service, conversation):
    message = service.post_end_user_message(conversation.id, "line one\r\n\tindented\rthree")
    assert message.body == "line one\n\tindented\nthree"


def test_markup_is_stored_verbatim(service, conversation):
    text = "[bold red]hi[/] [@click=app.quit]x[/] <script>alert(1)</script>"
    assert service.post_end_user_message(conversation.id, text).body == text


def test_unknown_conversation_and_agent(service, conversation):
    with pytest.raises(NotFound):
        service.post_end_user_message(12345, "hi")
    with pytest.raises(NotFound, match="no agent"):
        service.post_agent_message(conversation.id, 999, "hi")
    with pytest.raises(InvalidInput, match="needs the agent"):
        service.post_message(conversation.id, AuthorKind.agent, "hi")
    with pytest.raises(InvalidInput, match="channel"):
        service.post_message(conversation.id, AuthorKind.end_user, "hi", channel="fax")


def test_read_mark_never_moves_backwards(service, conversation, agent, session):
    for n in range(3):
        service.post_agent_message(conversation.id, agent.id, f"reply {n}")
    assert service.mark_read(conversation.id, "end_user", 2) == 2
    events = _event_count(session)
    assert service.mark_read(conversation.id, "end_user", 1) == 2
    assert service.mark_read(conversation.id, "end_user", 2) == 2
    assert _event_count(session) == events  # no-op marks write nothing
    assert service.get(conversation.id).end_user_read_seq == 2
    assert service.mark_read(conversation.id, "end_user", 3) == 3


def test_read_mark_errors(service, conversation):
    service.post_end_user_message(conversation.id, "hi")
    with pytest.raises(InvalidInput, match="has 1 messages"):
        service.mark_read(conversation.id, "agent", 5)
    with pytest.raises(InvalidInput):
        service.mark_read(conversation.id, "agent", -1)
    with pytest.raises(InvalidInput, match="Only end users and agents"):
        service.mark_read(conversation.id, "system", 1)
    with pytest.raises(ValueError):
        service.mark_read(conversation.id, "robot", 1)
    assert service.get(conversation.id).agent_read_seq == 0


def test_assign_and_unassign(service, conversation, agent, session, clock):
    other = AgentService(session, clock).add("bo", "Bo")
    assigned = service.assign(conversation.id, agent.id)
    assert (assigned.assignee_id, assigned.status) == (agent.id, ConversationStatus.open)
    with pytest.raises(InvalidTransition, match="assigned to Ana Agent already"):
        service.assign(conversation.id, agent.id)
    assert service.assign(conversation.id, other.id).assignee_id == other.id
    released = service.unassign(conversation.id)
    assert (released.assignee_id, released.status) == (None, ConversationStatus.queued)
    with pytest.raises(InvalidTransition, match="not assigned"):
        service.unassign(conversation.id)
    with pytest.raises(NotFound):
        service.assign(conversation.id, 999)


def test_status_transitions(service, conversation):
    with pytest.raises(InvalidTransition, match="queued conversation cannot become queued"):
        service.set_status(conversation.id, "queued")
    with pytest.raises(InvalidInput, match="Unknown status"):
        service.set_status(conversation.id, "archived")
    assert service.set_status(conversation.id, "solved").status is ConversationStatus.solved
    with pytest.raises(InvalidTransition):
        service.set_status(conversation.id, "pending")
    assert service.set_status(conversation.id, "open").status is ConversationStatus.open
    assert service.set_status(conversation.id, "pending").status is ConversationStatus.pending


def test_end_user_message_reopens_solved_conversation(service, conversation, agent):
    service.post_agent_message(conversation.id, agent.id, "Fixed.")
    service.set_status(conversation.id, "solved")
    service.post_end_user_message(conversation.id, "Not quite", channel="email", email_message_id="<a@x>")
    refreshed = service.get(conversation.id)
    assert refreshed.status is ConversationStatus.open  # still assigned to Ana
    assert [e.conversation_id for e in _waiting(service)] == [conversation.id]


def test_email_message_id_is_unique(service, conversation):
    service.post_end_user_message(conversation.id, "one", channel="email", email_message_id="<m1@mail.example>")
    with pytest.raises(InvalidInput, match="stored already"):
        service.post_end_user_message(
            conversation.id, "one again", channel="email", email_message_id="<m1@mail.example>"
        )
    assert service.get(conversation.id).last_seq == 1


def test_queue_is_oldest_first_and_pages(service, clock):
    ids = []
    for n in range(5):
        user = service.create_end_user(f"user {n}")
        conversation = service.start_conversation(user.id)
        clock.advance(timedelta(minutes=1))
        service.post_end_user_message(conversation.id, "help")
        ids.append(conversation.id)
    assert [e.conversation_id for e in _waiting(service)] == ids
    assert [e.conversation_id for e in _waiting(service, offset=2, limit=2)] == ids[2:4]
    waits = [(clock.now() - e.waiting_since).total_seconds() for e in _waiting(service)]
    assert waits == sorted(waits, reverse=True)


def test_transcript_after_seq(service, conversation, agent):
    for n in range(4):
        service.post_end_user_message(conversation.id, f"m{n}")
    assert [m.body for m in service.transcript(conversation.id, after_seq=2)] == ["m2", "m3"]
    assert [m.seq for m in service.transcript(conversation.id, limit=2)] == [1, 2]
    with pytest.raises(NotFound):
        service.transcript(777)


def test_system_message_kind_and_meta(service, conversation):
    message = service.post_message(conversation.id, AuthorKind.system, "What is your email?", kind="email_request",
                                   meta={"trigger": 1})
    assert (message.author_kind, message.kind, message.meta) == (AuthorKind.system, "email_request", {"trigger": 1})
    assert message.email_fallback is False


def test_event_log_follows_by_cursor_in_commit_order(service, conversation, agent, session):
    log = EventLog(session)
    cursor = log.latest_id()
    service.post_end_user_message(conversation.id, "a")
    service.post_agent_message(conversation.id, agent.id, "b")
    service.mark_read(conversation.id, "end_user", 2)
    service.set_status(conversation.id, "solved")
    events = log.after(cursor)
    assert [e.kind for e in events] == [
        "message.posted",
        "message.posted",
        "conversation.status",
        "read.end_user",
        "conversation.status",
    ]
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert log.after(events[-1].id) == []
    assert [e.kind for e in log.after(cursor, limit=1)] == ["message.posted"]

"""What happened since a cursor, as typed news for an agent console: changed conversations and what to tell the
agent."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from core.event_kinds import EventKind
from core.events import EventLog
from core.labels import EndUserRef
from core.models import Agent, AuthorKind, Channel, Conversation, EndUser, Event, Message, row_id

BATCH = 500
# Kinds after which every list may have changed (not one conversation): outbox states shown in listings.
_GLOBAL_KINDS = {EventKind.notification_failed, EventKind.notification_bounced, EventKind.notification_retried,
                 EventKind.notification_sent}


@dataclass(frozen=True)
class ConversationArrived:
    """A new conversation; by email it already carries the end user's first words."""

    conversation_id: int
    end_user: EndUserRef
    channel: Channel
    first_words: str | None  # whitespace collapsed to single spaces; None until the end user wrote


@dataclass(frozen=True)
class EndUserAnswered:
    conversation_id: int
    end_user: EndUserRef
    channel: Channel
    text: str  # whitespace collapsed to single spaces


@dataclass(frozen=True)
class ConversationTransferred:
    """Another agent handed a conversation to to_agent_id (its console tells that agent)."""

    conversation_id: int
    end_user: EndUserRef
    to_agent_id: int
    by_agent_name: str


@dataclass(frozen=True)
class EmailsHeld:
    count: int


@dataclass(frozen=True)
class SendingPaused:
    reason: str


@dataclass(frozen=True)
class SendingResumed:
    server: str


News = (ConversationArrived | EndUserAnswered | ConversationTransferred | EmailsHeld | SendingPaused
        | SendingResumed)


@dataclass
class ConsoleNews:
    """Everything a console needs from one batch of events."""

    cursor: int
    conversation_ids: set[int] = field(default_factory=set)
    kinds: set[EventKind] = field(default_factory=set)
    global_change: bool = False  # settings, triggers, templates, outbox, inbound mail, agents
    news: list[News] = field(default_factory=list)


def one_line(text: str | None) -> str:
    """text with every run of whitespace (newlines too) collapsed to one space, so lines never run together."""
    return " ".join((text or "").split())


def read_news(session: Session, cursor: int, limit: int = BATCH) -> ConsoleNews | None:
    """The news in the events after cursor (None when there are none); .cursor is where to read next."""
    events = EventLog(session).after(cursor, limit=limit)
    if not events:
        return None
    return summarize(session, events, row_id(events[-1]))


def summarize(session: Session, events: list[Event], cursor: int) -> ConsoleNews:
    result = ConsoleNews(cursor)
    started: list[tuple[int, Channel]] = []
    answers: list[tuple[int, int, Channel]] = []
    transfers: list[tuple[int, int, int]] = []  # conversation, to agent, by agent
    held = 0
    for event in events:
        kind = EventKind(event.kind)
        result.kinds.add(kind)
        payload = event.payload or {}
        if kind is EventKind.inbound_held:
            held += 1
        elif kind is EventKind.sender_paused:
            result.news.append(SendingPaused(str(payload.get("reason") or "?")))
        elif kind is EventKind.sender_resumed:
            result.news.append(SendingResumed(str(payload.get("server") or "?")))
        if event.conversation_id is None:
            result.global_change = True
            continue
        result.conversation_ids.add(event.conversation_id)
        if kind is EventKind.conversation_started:
            started.append((event.conversation_id, Channel(payload.get("channel", Channel.messaging))))
        elif kind in _GLOBAL_KINDS:
            result.global_change = True
        elif kind is EventKind.conversation_assigned and payload.get("by_agent_id"):
            transfers.append((event.conversation_id, int(payload["assignee_id"]), int(payload["by_agent_id"])))
        elif kind is EventKind.message_posted and payload.get("author_kind") == AuthorKind.end_user:
            answers.append((event.conversation_id, int(payload.get("seq", 0)),
                            Channel(payload.get("channel", Channel.messaging))))
    if held:
        result.news.append(EmailsHeld(held))
    if started or answers:
        people = _end_users(session, {c for c, _channel in started} | {a[0] for a in answers})
        texts = _bodies(session, answers)
        by_email = {conversation_id for conversation_id, channel in started if channel is Channel.email}
        first_words: dict[int, str] = {}
        answered: list[News] = []
        for conversation_id, seq, channel in answers:
            if conversation_id in by_email and conversation_id not in first_words:
                # The email that started the conversation is its news, not an "answer".
                first_words[conversation_id] = texts.get((conversation_id, seq), "")
            elif conversation_id in people:
                answered.append(EndUserAnswered(conversation_id, people[conversation_id], channel,
                                                texts.get((conversation_id, seq), "")))
        result.news += [ConversationArrived(conversation_id, people[conversation_id], channel,
                                            first_words.get(conversation_id))
                        for conversation_id, channel in started if conversation_id in people]
        result.news += answered
    if transfers:
        people = _end_users(session, {conversation_id for conversation_id, _to, _by in transfers})
        names = dict(session.exec(select(Agent.id, Agent.name).where(
            col(Agent.id).in_([by for _c, _to, by in transfers]))).all())
        result.news += [ConversationTransferred(conversation_id, people[conversation_id], to, names.get(by, "?"))
                        for conversation_id, to, by in transfers if conversation_id in people]
    return result


def _end_users(session: Session, conversation_ids: set[int]) -> dict[int, EndUserRef]:
    query = (select(Conversation.id, EndUser.id, EndUser.name, EndUser.email)
             .join(EndUser, col(EndUser.id) == Conversation.end_user_id)
             .where(col(Conversation.id).in_(list(conversation_ids))))
    return {cid: EndUserRef(uid, name, email) for cid, uid, name, email in session.exec(query)
            if cid is not None and uid is not None}


def _bodies(session: Session, answers: list[tuple[int, int, Channel]]) -> dict[tuple[int, int], str]:
    found: dict[tuple[int, int], str] = {}
    for conversation_id, seq, _channel in answers:
        body = session.exec(select(Message.body).where(Message.conversation_id == conversation_id,
                                                       Message.seq == seq)).first()
        found[(conversation_id, seq)] = one_line(body)
    return found

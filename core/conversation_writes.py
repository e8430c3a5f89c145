"""The lowest writers of conversation state (append a message, change status), shared by the service and reactions.

They record the event-log entry and the domain event but run no reactions themselves: the dispatcher does that
once per transaction, so a trigger's system message never re-enters the conversation service.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from core.domain_events import ConversationChanged, MessagePosted, raise_event
from core.errors import InvalidTransition
from core.event_kinds import EventKind
from core.events import record_event
from core.i18n import _
from core.models import AuthorKind, Channel, Conversation, ConversationStatus, Message

# Which status may follow which; setting the same status again is refused as a no-op transition.
ALLOWED_TRANSITIONS: dict[ConversationStatus, set[ConversationStatus]] = {
    ConversationStatus.queued: {ConversationStatus.open, ConversationStatus.pending, ConversationStatus.solved},
    ConversationStatus.open: {ConversationStatus.queued, ConversationStatus.pending, ConversationStatus.solved},
    ConversationStatus.pending: {ConversationStatus.open, ConversationStatus.queued, ConversationStatus.solved},
    ConversationStatus.solved: {ConversationStatus.open, ConversationStatus.queued},
}


def status_after_end_user_message(conversation: Conversation) -> ConversationStatus:
    """The reopen rule: an end user writing to a pending or solved conversation brings it back to the assignee
    (open) or, without one, to the shared queue."""
    if conversation.status in (ConversationStatus.pending, ConversationStatus.solved):
        return ConversationStatus.open if conversation.assignee_id else ConversationStatus.queued
    return conversation.status


def reopen_status(conversation: Conversation) -> ConversationStatus:
    """The status an agent's "reopen" gives a pending or solved conversation: open with an assignee, else queued."""
    return ConversationStatus.open if conversation.assignee_id else ConversationStatus.queued


def append_message(session: Session, now: datetime, conversation: Conversation, author_kind: AuthorKind,
                   body: str, *, agent_id: int | None = None, channel: Channel = Channel.messaging,
                   email_message_id: str | None = None, email_fallback: bool = True, kind: str = "text",
                   meta: dict[str, Any] | None = None) -> Message:
    """Append an already validated message to a locked conversation and move its marks and status."""
    if conversation.id is None:
        raise ValueError("append_message() needs a stored conversation: flush it first")
    conversation.last_seq += 1
    message = Message(
        conversation_id=conversation.id, seq=conversation.last_seq, author_kind=author_kind,
        author_agent_id=agent_id,
        author_end_user_id=conversation.end_user_id if author_kind is AuthorKind.end_user else None,
        body=body, channel=channel, created_at=now, email_message_id=email_message_id,
        email_fallback=email_fallback if author_kind is AuthorKind.agent else False, kind=kind, meta=meta,
    )
    before = conversation.status
    conversation.updated_at = now
    conversation.last_message_at = now
    conversation.last_message_channel = channel
    if author_kind is AuthorKind.end_user:
        # The writer has read everything up to what they wrote.
        conversation.end_user_read_seq = max(conversation.end_user_read_seq, message.seq)
        if conversation.waiting_since is None:
            conversation.waiting_since = now
        conversation.status = status_after_end_user_message(conversation)
    elif author_kind is AuthorKind.agent:
        conversation.agent_read_seq = max(conversation.agent_read_seq, message.seq)
        conversation.waiting_since = None
        if conversation.assignee_id is None:
            conversation.assignee_id = agent_id
        if conversation.status is ConversationStatus.queued:
            conversation.status = ConversationStatus.open
    session.add(conversation)
    session.add(message)
    session.flush()
    payload: dict[str, Any] = dict(
        seq=message.seq, message_id=message.id, author_kind=author_kind.value, channel=channel.value,
        status=conversation.status.value, assignee_id=conversation.assignee_id,
        end_user_read_seq=conversation.end_user_read_seq, agent_read_seq=conversation.agent_read_seq,
    )
    if kind != "text":
        payload["message_kind"] = kind
    record_event(session, now, EventKind.message_posted, conversation.id, **payload)
    if conversation.status != before:
        record_event(session, now, EventKind.conversation_status, conversation.id,
                     status=conversation.status.value, previous=before.value)
    raise_event(session, MessagePosted(now, conversation.id, message.seq, author_kind))
    return message


def change_status(session: Session, now: datetime, conversation: Conversation, status: ConversationStatus) -> None:
    """Move a locked conversation to status, if that transition is allowed (else InvalidTransition)."""
    if conversation.id is None:
        raise ValueError("change_status() needs a stored conversation: flush it first")
    before = conversation.status
    if status not in ALLOWED_TRANSITIONS[before]:
        raise InvalidTransition(
            _("A {before} conversation cannot become {after}.").format(before=before.value, after=status.value)
        )
    conversation.status = status
    conversation.updated_at = now
    if status is ConversationStatus.solved:
        conversation.waiting_since = None
        # Solving settles everything written so far: a later reopen must not email replies that were
        # unread at the solve (only messages posted after it may be emailed).
        conversation.notified_seq = max(conversation.notified_seq, conversation.last_seq)
    session.add(conversation)
    record_event(session, now, EventKind.conversation_status, conversation.id, status=status.value,
                 previous=before.value)
    raise_event(session, ConversationChanged(now, conversation.id))

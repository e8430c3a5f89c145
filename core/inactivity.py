"""When a conversation's next notification is due: the inactivity rules, as a pure function plus its database inputs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from core.account_settings import AccountSettings
from core.clock import as_utc
from core.models import AuthorKind, Conversation, ConversationStatus, EndUser, Message


@dataclass(frozen=True)
class PendingBatch:
    """Unread agent messages that may go by email and were not handed to a notification yet."""

    first_seq: int
    last_seq: int
    oldest_at: datetime


def notify_floor(conversation: Conversation) -> int:
    """Messages at or below this seq are read or emailed already, so never (again) part of a notification."""
    return max(conversation.notified_seq, conversation.end_user_read_seq)


def pending_batch(session: Session, conversation: Conversation) -> PendingBatch | None:
    """The batch a notification would carry now (one indexed range read on (conversation_id, seq))."""
    if conversation.last_seq <= notify_floor(conversation):
        return None  # nothing new since the floor: no query needed
    row = session.exec(
        select(func.min(Message.seq), func.max(Message.seq), func.min(Message.created_at))
        .where(Message.conversation_id == conversation.id, Message.seq > notify_floor(conversation),
               Message.author_kind == AuthorKind.agent, Message.email_fallback == True)  # noqa: E712
    ).first()
    if row is None or row[0] is None:
        return None
    return PendingBatch(first_seq=int(row[0]), last_seq=int(row[1]), oldest_at=aggregate_time(row[2]))


def aggregate_time(value: datetime | str) -> datetime:
    """An aware UTC time from min(created_at), which some drivers return as text or as a naive time."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value)


def pending_floor_expression() -> Any:
    """notify_floor as SQL, to select the pending batches of many conversations in one query."""
    return case((col(Conversation.notified_seq) > col(Conversation.end_user_read_seq), Conversation.notified_seq),
                else_=Conversation.end_user_read_seq)


def present_until(conversation: Conversation, settings: AccountSettings) -> datetime | None:
    """Until when the end user counts as present (last heartbeat + presence timeout); None when they left."""
    if not conversation.end_user_present or conversation.end_user_last_seen_at is None:
        return None
    return conversation.end_user_last_seen_at + timedelta(seconds=settings.presence_timeout_seconds)


def is_present(conversation: Conversation, settings: AccountSettings, now: datetime) -> bool:
    until = present_until(conversation, settings)
    return until is not None and now < until


def may_email(conversation: Conversation, end_user: EndUser | None, settings: AccountSettings) -> bool:
    """Whether this conversation may be emailed at all (feature on, an address that works, not solved, not blocked)."""
    return bool(
        settings.continuous_conversations
        and conversation.status is not ConversationStatus.solved
        and end_user is not None and conversation.notify_email
        and not end_user.blocked
        and not (end_user.email_failing and conversation.notify_email == end_user.email)
    )


def inactivity_period(settings: AccountSettings) -> timedelta:
    """The inactivity period: the seconds override when set (the demo's), else the minutes setting."""
    if settings.inactivity_seconds > 0:
        return timedelta(seconds=settings.inactivity_seconds)
    return timedelta(minutes=settings.inactivity_minutes)


def due_time(conversation: Conversation, end_user: EndUser | None, batch: PendingBatch | None,
             settings: AccountSettings) -> datetime | None:
    """When to email the batch: the inactivity period after its oldest message, and never while the user is present.

    Business hours play no part: an end user who left is emailed whenever an agent's reply stays unread.
    """
    if batch is None or not may_email(conversation, end_user, settings):
        return None
    due = batch.oldest_at + inactivity_period(settings)
    until = present_until(conversation, settings)
    if until is not None and until > due:
        due = until  # a heartbeat moves this forward; leaving brings it back
    return due


def reschedule(
    session: Session, conversation: Conversation, now: datetime, settings: AccountSettings
) -> datetime | None:
    """Recompute and store conversation.notify_due_at in the caller's transaction; returns it."""
    if not settings.continuous_conversations:
        due = None
    else:
        end_user = session.get(EndUser, conversation.end_user_id)
        due = due_time(conversation, end_user, pending_batch(session, conversation), settings)
    if conversation.notify_due_at != due:
        conversation.notify_due_at = due
        session.add(conversation)
    return due

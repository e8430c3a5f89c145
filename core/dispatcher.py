"""The one dispatcher: applies the reactions to the domain events of a transaction, just before it commits.

Reactions: triggers on a started conversation, settings side effects on the notification schedule, and
recomputing notify_due_at of every conversation an event touched. A reaction writes through the low-level
writers (core.conversation_writes); the events those raise are dispatched in the next round, where only
rescheduling reacts to them, so the loop ends. It never calls back into the service that raised an event.
"""
from __future__ import annotations

import logging

from sqlalchemy import update
from sqlmodel import Session, col, select

from core.account_settings import AccountSettings, load_settings
from core.db import rows_changed
from core.domain_events import (
    ConversationChanged,
    ConversationStarted,
    MessagePosted,
    PresenceChanged,
    ReadMarked,
    SettingsChanged,
    take_events,
)
from core.event_kinds import EventKind
from core.events import record_event
from core.inactivity import reschedule
from core.models import Conversation
from core.trigger_runner import run_started

log = logging.getLogger(__name__)

# Started conversations are the only events that write more than a schedule; two rounds suffice today.
MAX_ROUNDS = 5


def dispatch(session: Session) -> None:
    """Apply the reactions to every domain event collected in session's transaction, until none are left."""
    touched: set[int] = set()
    settings: AccountSettings | None = None
    last_at = None
    for _round in range(MAX_ROUNDS):
        events = take_events(session)
        if not events:
            break
        for event in events:
            last_at = event.at
            if isinstance(event, SettingsChanged):
                apply_settings_change(session, event)
                settings = None  # read again below: the change is stored
            elif isinstance(event, ConversationStarted):
                settings = settings or load_settings(session)
                conversation = session.get(Conversation, event.conversation_id)
                if conversation is not None:
                    run_started(session, event.at, conversation, settings)
                touched.add(event.conversation_id)
            elif isinstance(event, (MessagePosted, ReadMarked, ConversationChanged, PresenceChanged)):
                touched.add(event.conversation_id)
    else:
        raise RuntimeError(f"domain events still raised after {MAX_ROUNDS} rounds of reactions")
    if touched and last_at is not None:
        settings = settings or load_settings(session)
        for conversation_id in touched:
            conversation = session.get(Conversation, conversation_id)
            if conversation is not None:
                reschedule(session, conversation, last_at, settings)


def apply_settings_change(session: Session, event: SettingsChanged) -> None:
    """Keep schedules in step with the settings, in the settings' transaction.

    Off clears every pending schedule. On again never emails old messages: every conversation's notified
    mark moves up to its last message, so only messages posted from now on can be emailed.
    """
    before, after, now = event.before, event.after, event.at
    session.flush()  # expire_all below must not drop changes of this transaction that are not written yet
    if before.continuous_conversations and not after.continuous_conversations:
        cleared = rows_changed(session.execute(
            update(Conversation).where(col(Conversation.notify_due_at).is_not(None)).values(notify_due_at=None)))
        record_event(session, now, EventKind.notifications_cleared, None, conversations=cleared)
    elif after.continuous_conversations and not before.continuous_conversations:
        moved = rows_changed(session.execute(
            update(Conversation).where(col(Conversation.notified_seq) < col(Conversation.last_seq))
            .values(notified_seq=Conversation.last_seq, notify_due_at=None)))
        record_event(session, now, EventKind.notifications_baseline, None, conversations=moved)
    elif after.continuous_conversations and (
            before.inactivity_minutes != after.inactivity_minutes
            or before.inactivity_seconds != after.inactivity_seconds
            or before.presence_timeout_seconds != after.presence_timeout_seconds):
        ids = list(session.exec(select(Conversation.id).where(col(Conversation.notify_due_at).is_not(None))))
        for conversation_id in ids:
            conversation = session.get(Conversation, conversation_id)
            if conversation is not None:
                reschedule(session, conversation, now, after)
        session.flush()
        record_event(session, now, EventKind.notifications_rescheduled, None, conversations=len(ids))
    session.expire_all()  # bulk updates bypass the identity map; reload what was cached

"""Running the active triggers on a new conversation, inside its transaction (called by the dispatcher only)."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.account_settings import AccountSettings
from core.business_hours import is_open
from core.conversation_writes import append_message, change_status
from core.errors import InvalidTransition
from core.event_kinds import EventKind
from core.events import record_event
from core.models import (
    Agent,
    AgentStatus,
    AuthorKind,
    Conversation,
    ConversationStatus,
    EndUser,
    Trigger,
)
from core.text import clean_body
from core.trigger_rules import MESSAGE_KINDS, POSTING_ACTIONS, Situation, matches, text_for

log = logging.getLogger(__name__)


def situation(session: Session, now: datetime, conversation: Conversation, settings: AccountSettings,
              event: str = "started") -> Situation:
    """What the trigger conditions look at, for one conversation at now."""
    end_user = session.get(EndUser, conversation.end_user_id)
    online = int(session.exec(select(func.count()).select_from(Agent)
                              .where(Agent.status == AgentStatus.online)).one())
    language = conversation.language or (end_user.language if end_user else None) or settings.default_language
    return Situation(event=event, channel=conversation.channel.value, agents_online=online,
                     inside_business_hours=is_open(settings.business_hours, now),
                     has_email=bool(end_user and end_user.email), language=language)


def run_started(
    session: Session, now: datetime, conversation: Conversation, settings: AccountSettings
) -> list[Trigger]:
    """Run the active "started" triggers on a new conversation; returns the ones that fired.

    Their messages and status changes go through the low-level writers, so they raise events but never run
    the triggers again.
    """
    triggers = list(session.exec(select(Trigger).where(Trigger.active == True)  # noqa: E712
                                 .order_by(col(Trigger.position), col(Trigger.id))))
    triggers = [t for t in triggers if t.conditions.get("event", "started") == "started"]
    if not triggers:
        return []
    current = situation(session, now, conversation, settings)
    fired = []
    for trigger in triggers:
        if matches(trigger.conditions, current):
            _run_actions(session, now, conversation, trigger, current, settings)
            fired.append(trigger)
    return fired


def _run_actions(session: Session, now: datetime, conversation: Conversation, trigger: Trigger,
                 current: Situation, settings: AccountSettings) -> None:
    record_event(session, now, EventKind.trigger_fired, conversation.id, trigger_id=trigger.id, key=trigger.key)
    for action in trigger.actions:
        if not matches(action.get("if") or {}, current):
            continue
        kind = action["type"]
        if kind in POSTING_ACTIONS:
            text = text_for(trigger, action.get("text", ""), current.language, settings.default_language)
            if "{email}" in text:
                end_user = session.get(EndUser, conversation.end_user_id)
                text = text.replace("{email}", (end_user.email if end_user else "") or "")
            if text:
                append_message(session, now, conversation, AuthorKind.system, clean_body(text),
                               kind=MESSAGE_KINDS[kind], meta={"trigger": trigger.key or trigger.id})
        elif kind == "set_status":
            try:
                change_status(session, now, conversation, ConversationStatus(action.get("status", "")))
            except (InvalidTransition, ValueError):
                # Already in that status, or a status this version does not know: nothing to do.
                log.debug("trigger %s: status %r not applied", trigger.id, action.get("status"))
        elif kind == "add_tag":
            tag = str(action.get("tag", "")).strip()
            if tag and tag not in conversation.tags:
                conversation.tags = [*conversation.tags, tag]
                session.add(conversation)
                record_event(session, now, EventKind.conversation_tagged, conversation.id, tag=tag)

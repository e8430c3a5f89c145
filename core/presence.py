"""End-user presence reported by the widget (connected, heartbeat, left), and what it does to the notification
schedule."""
from __future__ import annotations

from sqlmodel import Session, select

from core.account_settings import load_settings
from core.clock import Clock
from core.domain_events import PresenceChanged, raise_event
from core.errors import InvalidInput, NotFound
from core.event_kinds import EventKind
from core.events import record_event
from core.i18n import _
from core.inactivity import is_present
from core.models import Conversation, row_id
from core.transactions import transactional

STATES = ("connected", "heartbeat", "left")


class PresenceService:
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    @transactional
    def report(self, conversation_id: int, state: str) -> Conversation:
        """Record one presence report; recompute the notification due time in the same transaction.

        Leaving is not ending: the conversation stays open. Only a flip of presence is logged as
        "presence.changed", so heartbeats do not flood the event log.
        """
        if state not in STATES:
            raise InvalidInput(_("Unknown presence {state!r}; use connected, heartbeat or left.").format(state=state))
        query = select(Conversation).where(Conversation.id == conversation_id).with_for_update()
        conversation = self.session.exec(query.execution_options(populate_existing=True)).first()
        if conversation is None:
            raise NotFound(_("There is no conversation with id {id}.").format(id=conversation_id))
        now = self.clock.now()
        settings = load_settings(self.session)
        was_present = is_present(conversation, settings, now)
        conversation.end_user_last_seen_at = now
        conversation.end_user_present = state != "left"
        self.session.add(conversation)
        if was_present != conversation.end_user_present:
            record_event(self.session, now, EventKind.presence_changed, conversation.id,
                         present=conversation.end_user_present, state=state)
        raise_event(self.session, PresenceChanged(now, row_id(conversation)))  # the dispatcher reschedules
        return conversation

"""Fixtures for the engine tests: a desk with the feature on, one agent, and a helper to start conversations."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import Session, select

from core.agents import AgentService
from core.clock import FixedClock
from core.conversations import ConversationService
from core.models import Agent, Conversation, EndUser, OutboxJob
from core.notifications import NotificationService
from core.presence import PresenceService
from core.settings import SettingsService


@dataclass
class Desk:
    session: Session
    clock: FixedClock
    agent: Agent

    @property
    def conversations(self) -> ConversationService:
        return ConversationService(self.session, self.clock)

    @property
    def notifications(self) -> NotificationService:
        return NotificationService(self.session, self.clock)

    @property
    def presence(self) -> PresenceService:
        return PresenceService(self.session, self.clock)

    @property
    def settings(self) -> SettingsService:
        return SettingsService(self.session, self.clock)

    def start(self, email: str | None = "ann@example.com", *, verified: bool = True, language: str | None = None,
              present: bool = True) -> Conversation:
        """A conversation whose end user wrote once and is connected (unless present=False)."""
        end_user = self.conversations.create_end_user("Ann", email, language, email_verified=verified)
        conversation = self.conversations.start_conversation(end_user.id)
        self.conversations.post_end_user_message(conversation.id, "Hello?")
        if present:
            self.presence.report(conversation.id, "connected")
        return conversation

    def reply(self, conversation: Conversation, body: str = "An answer", *, email_fallback: bool = True) -> int:
        return self.conversations.post_agent_message(conversation.id, self.agent.id, body,
                                                     email_fallback=email_fallback).seq

    def refreshed(self, conversation: Conversation) -> Conversation:
        return self.conversations.get(conversation.id)

    def jobs(self) -> list[OutboxJob]:
        return list(self.session.exec(select(OutboxJob).order_by(OutboxJob.id)))

    def end_user(self, conversation: Conversation) -> EndUser:
        return self.session.get(EndUser, conversation.end_user_id)


@pytest.fixture
def desk(session: Session, clock: FixedClock) -> Desk:
    agent = AgentService(session, clock).add("bo", "Bo")
    SettingsService(session, clock).update(continuous_conversations=True, support_address="help@example.com",
                                           inactivity_minutes=5, presence_timeout_seconds=60)
    return Desk(session, clock, agent)

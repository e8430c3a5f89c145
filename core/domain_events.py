"""Typed domain events: what a service reports happened, collected on its session until the dispatcher reacts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from core.account_settings import AccountSettings
from core.models import AuthorKind

_COLLECTED = "threadline_domain_events"


@dataclass(frozen=True)
class ConversationStarted:
    at: datetime
    conversation_id: int


@dataclass(frozen=True)
class MessagePosted:
    at: datetime
    conversation_id: int
    seq: int
    author_kind: AuthorKind


@dataclass(frozen=True)
class ReadMarked:
    at: datetime
    conversation_id: int
    side: AuthorKind


@dataclass(frozen=True)
class ConversationChanged:
    """Assignment or status changed."""

    at: datetime
    conversation_id: int


@dataclass(frozen=True)
class SettingsChanged:
    at: datetime
    before: AccountSettings
    after: AccountSettings


@dataclass(frozen=True)
class PresenceChanged:
    at: datetime
    conversation_id: int


DomainEvent = (
    ConversationStarted | MessagePosted | ReadMarked | ConversationChanged | SettingsChanged | PresenceChanged
)


def raise_event(session: Session, event: DomainEvent) -> None:
    """Collect event in the session's current transaction; the dispatcher applies its reactions before commit."""
    session.info.setdefault(_COLLECTED, []).append(event)


def take_events(session: Session) -> list[DomainEvent]:
    """The events collected so far, removing them from the collector."""
    events: list[DomainEvent] = session.info.pop(_COLLECTED, [])
    return events


def discard_events(session: Session) -> None:
    """Forget collected events (their transaction rolled back)."""
    session.info.pop(_COLLECTED, None)

"""Rules that run inside the transaction of every conversation change (the engine plugs in here)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from core.models import Conversation


def after_change(session: Session, now: datetime, conversation: Conversation, change: str, **details: Any) -> None:
    """Called by ConversationService after each change, before commit. The engine adds its rules here."""
    return None


def after_settings_change(session: Session, now: datetime, before: Any, after: Any) -> None:
    """Called by SettingsService.update after storing changes, before commit (e.g. feature off clears schedules)."""
    return None

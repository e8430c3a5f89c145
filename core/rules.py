"""Rules that run inside the transaction of every conversation change (the engine plugs in here)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from core.models import Conversation


def _settings(session: Session) -> Any:
    from core.settings import SettingsService

    return SettingsService(session, None).load()  # type: ignore[arg-type]  # load() reads no clock


def after_change(session: Session, now: datetime, conversation: Conversation, change: str, **details: Any) -> None:
    """Called by ConversationService after each change, before commit: triggers, then the notification schedule."""
    from core.inactivity import reschedule

    if change == "started":
        from core.triggers import TriggerService

        TriggerService.run_started(session, now, conversation)
    reschedule(session, conversation, now, _settings(session))


def after_settings_change(session: Session, now: datetime, before: Any, after: Any) -> None:
    """Called by SettingsService.update after storing changes, before commit (e.g. feature off clears schedules)."""
    from core.notifications import apply_settings_change

    apply_settings_change(session, now, before, after)

"""The settings service: reading and changing account-wide settings; the reactions to a change are dispatched."""
from __future__ import annotations

from typing import Any

from sqlmodel import Session

from core.account_settings import (
    WEEKDAYS,
    AccountSettings,
    BusinessHours,
    load_settings,
    settings_json,
    validate_setting,
)
from core.clock import Clock
from core.domain_events import SettingsChanged, raise_event
from core.event_kinds import EventKind
from core.events import record_event
from core.models import Setting
from core.transactions import transactional

__all__ = ["WEEKDAYS", "AccountSettings", "BusinessHours", "SettingsService"]


class SettingsService:
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def load(self) -> AccountSettings:
        return load_settings(self.session)

    @transactional
    def update(self, **changes: Any) -> AccountSettings:
        """Validate every change first, then store them all; an invalid one stores none."""
        checked = {name: validate_setting(name, value) for name, value in changes.items()}
        now = self.clock.now()
        before = self.load()
        for name, value in checked.items():
            if getattr(before, name) == value:
                continue
            row = self.session.get(Setting, name) or Setting(key=name, updated_at=now)
            row.value = settings_json(value)
            row.updated_at = now
            self.session.add(row)
            record_event(self.session, now, EventKind.settings_changed, None, key=name, value=settings_json(value))
        self.session.flush()
        after = self.load()
        raise_event(self.session, SettingsChanged(at=now, before=before, after=after))
        return after

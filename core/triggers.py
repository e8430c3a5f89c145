"""Triggers an admin manages: the built-in ones, creating, activating and translating them (running:
core.trigger_runner)."""
from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from core.clock import Clock
from core.errors import InvalidInput, NotFound
from core.event_kinds import EventKind
from core.events import record_event
from core.i18n import _
from core.language_tags import language_tag
from core.models import Trigger
from core.text import clean_body, clean_name
from core.transactions import transactional
from core.trigger_rules import (
    OUT_OF_OFFICE,
    POSTING_ACTIONS,
    REQUEST_EMAIL,
    Situation,
    builtin_triggers,
    matches,
    text_for,
    validate_trigger,
)

__all__ = ["OUT_OF_OFFICE", "POSTING_ACTIONS", "REQUEST_EMAIL", "Situation", "Trigger", "TriggerService", "matches",
           "text_for"]


class TriggerService:
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    # --- reading ---------------------------------------------------------------------------------------
    def all(self, *, active_only: bool = False) -> list[Trigger]:
        """Every trigger (or only the active ones) in the order they run."""
        query = select(Trigger).order_by(col(Trigger.position), col(Trigger.id))
        if active_only:
            query = query.where(Trigger.active == True)  # noqa: E712
        return list(self.session.exec(query))

    def get(self, trigger_id: int) -> Trigger:
        trigger = self.session.get(Trigger, trigger_id)
        if trigger is None:
            raise NotFound(_("There is no trigger with id {id}.").format(id=trigger_id))
        return trigger

    def by_key(self, key: str) -> Trigger | None:
        return self.session.exec(select(Trigger).where(Trigger.key == key)).first()

    # --- changing ----------------------------------------------------------------------------------------
    @transactional
    def ensure_builtins(self) -> list[Trigger]:
        """Create the built-in triggers that are missing (inactive); existing ones keep their texts and state."""
        now = self.clock.now()
        created = []
        for spec in builtin_triggers():
            if self.by_key(spec["key"]) is None:
                trigger = Trigger(**spec, active=False, texts={}, created_at=now, updated_at=now)
                self.session.add(trigger)
                self.session.flush()
                record_event(self.session, now, EventKind.trigger_created, None, trigger_id=trigger.id, key=trigger.key)
                created.append(trigger)
        return created

    @transactional
    def create(self, name: str, conditions: dict[str, Any], actions: list[dict[str, Any]], *,
               texts: dict[str, dict[str, str]] | None = None, active: bool = False, position: int = 100) -> Trigger:
        cleaned = clean_name(name)
        if not cleaned:
            raise InvalidInput(_("A trigger needs a name."))
        validate_trigger(conditions, actions)
        now = self.clock.now()
        trigger = Trigger(name=cleaned, conditions=conditions, actions=actions, texts=texts or {}, active=active,
                          position=position, created_at=now, updated_at=now)
        self.session.add(trigger)
        self.session.flush()
        record_event(self.session, now, EventKind.trigger_created, None, trigger_id=trigger.id, key=None)
        return trigger

    def activate(self, trigger_id: int) -> Trigger:
        return self._set_active(trigger_id, True)

    def deactivate(self, trigger_id: int) -> Trigger:
        return self._set_active(trigger_id, False)

    @transactional
    def _set_active(self, trigger_id: int, active: bool) -> Trigger:
        trigger = self.get(trigger_id)
        if trigger.active != active:
            now = self.clock.now()
            trigger.active = active
            trigger.updated_at = now
            self.session.add(trigger)
            record_event(
                self.session,
                now,
                EventKind.trigger_activated if active else EventKind.trigger_deactivated,
                None,
                trigger_id=trigger.id,
                key=trigger.key,
            )
        return trigger

    @transactional
    def set_text(self, trigger_id: int, language: str, text: str, *, text_key: str | None = None) -> Trigger:
        """Override the text of one action (the first with a text unless text_key names one) in one language."""
        trigger = self.get(trigger_id)
        tag = language_tag(language)
        keys = [a["text"] for a in trigger.actions if a.get("text")]
        text_key = text_key or (keys[0] if keys else None)
        if text_key not in keys:
            raise InvalidInput(_("The trigger {name!r} has no text {key!r}; its texts are: {keys}.").format(
                name=trigger.name, key=text_key, keys=", ".join(keys) or "-"))
        text = clean_body(text)
        now = self.clock.now()
        texts = {lang: dict(values) for lang, values in trigger.texts.items()}
        texts.setdefault(tag, {})[text_key] = text
        trigger.texts = texts  # a new dict, so the JSON column is seen as changed
        trigger.updated_at = now
        self.session.add(trigger)
        record_event(
            self.session, now, EventKind.trigger_text_set, None, trigger_id=trigger.id, language=tag, text_key=text_key
        )
        return trigger

"""Switching continuous conversations on and off: preconditions, the built-in email trigger, conflicting triggers."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from core.account_settings import load_settings
from core.clock import Clock
from core.errors import PreconditionFailed
from core.event_kinds import EventKind
from core.events import record_event
from core.i18n import _
from core.models import Agent, row_id
from core.settings import SettingsService
from core.transactions import transactional
from core.triggers import POSTING_ACTIONS, REQUEST_EMAIL, Trigger, TriggerService


@dataclass(frozen=True)
class ActivationReport:
    active: bool
    request_email_trigger_id: int | None
    # Other active triggers that post a message when a conversation starts: both firing duplicates messages.
    conflicting_triggers: list[str] = field(default_factory=list)


class ContinuousConversations:
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def missing_preconditions(self, *, mail_configured: bool) -> list[str]:
        missing = []
        if not load_settings(self.session).support_address:
            missing.append("support_address")
        if self.session.exec(select(Agent.id).limit(1)).first() is None:
            missing.append("agent")
        if not mail_configured:
            missing.append("mail")
        return missing

    @transactional
    def activate(self, *, mail_configured: bool) -> ActivationReport:
        """Turn the feature and the "request email" trigger on together; fails naming each missing piece."""
        missing = self.missing_preconditions(mail_configured=mail_configured)
        if missing:
            texts = {
                "support_address": _("a support address (set it in the settings)"),
                "agent": _("at least one agent (add one with: threadline agent add)"),
                "mail": _("working mail settings (configure [smtp] and [imap], then run threadline doctor)"),
            }
            raise PreconditionFailed(
                _("Continuous conversations cannot be activated yet; missing: {missing}.").format(
                    missing="; ".join(texts[m] for m in missing)), missing)
        triggers = TriggerService(self.session, self.clock)
        triggers.ensure_builtins()
        request = triggers.by_key(REQUEST_EMAIL)
        if request is None:
            raise RuntimeError(f"ensure_builtins() did not create the built-in trigger {REQUEST_EMAIL!r}")
        triggers.activate(row_id(request))
        SettingsService(self.session, self.clock).update(continuous_conversations=True)
        conflicts = [t.name for t in triggers.all(active_only=True) if t.key != REQUEST_EMAIL and _posts_on_start(t)]
        record_event(
            self.session, self.clock.now(), EventKind.continuous_activated, None, conflicting_triggers=conflicts
        )
        return ActivationReport(True, row_id(request), conflicts)

    @transactional
    def deactivate(self) -> ActivationReport:
        """Turn the feature and the "request email" trigger off in one step."""
        triggers = TriggerService(self.session, self.clock)
        request = triggers.by_key(REQUEST_EMAIL)
        if request is not None:
            triggers.deactivate(row_id(request))
        SettingsService(self.session, self.clock).update(continuous_conversations=False)
        record_event(self.session, self.clock.now(), EventKind.continuous_deactivated, None)
        return ActivationReport(False, request.id if request else None, [])

    def status(self) -> ActivationReport:
        on = load_settings(self.session).continuous_conversations
        triggers = TriggerService(self.session, self.clock)
        request = triggers.by_key(REQUEST_EMAIL)
        conflicts = [t.name for t in triggers.all(active_only=True) if t.key != REQUEST_EMAIL and _posts_on_start(t)]
        return ActivationReport(on, request.id if request else None, conflicts if on else [])


def _posts_on_start(trigger: Trigger) -> bool:
    return (trigger.conditions.get("event", "started") == "started"
            and any(a.get("type") in POSTING_ACTIONS for a in trigger.actions))

"""Messaging triggers: conditions on a new conversation and actions (system messages per language, email request, status, tag)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel, col, select

from core.clock import Clock, FixedClock
from core.errors import InvalidInput, InvalidTransition, NotFound
from core.events import record_event
from core.i18n import N_, _, negotiate, normalize_tag, translations
from core.models import Agent, AgentStatus, Conversation, EndUser, UTCDateTime
from core.settings import AccountSettings, SettingsService
from core.transactions import transactional

REQUEST_EMAIL = "request_email"
OUT_OF_OFFICE = "out_of_office"

# Default texts per text key; shown in the conversation's language from the catalogs until an admin overrides them.
DEFAULT_TEXTS: dict[str, str] = {
    "request_email": N_("We are away right now. Leave your email address and we will email you when an agent replies."),
    "acknowledge_email": N_("We are away right now. We will email you at {email} when an agent replies."),
    "out_of_office": N_("We are out of the office right now. We will answer as soon as we are back."),
}

BUILTIN_NAMES = {
    REQUEST_EMAIL: N_("Request email for continuous conversation"),
    OUT_OF_OFFICE: N_("Out of office message"),
}

CONDITION_KEYS = {"event", "channel", "agents_online", "business_hours", "has_email", "language", "any_of"}
ACTION_TYPES = {"system_message", "request_email", "acknowledge_email", "set_status", "add_tag"}
# Actions that post a message the end user sees (the ones that can duplicate each other).
POSTING_ACTIONS = {"system_message", "request_email", "acknowledge_email"}
MESSAGE_KINDS = {"system_message": "text", "request_email": "email_request", "acknowledge_email": "email_ack"}


class Trigger(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    # The built-in triggers' stable key; None for triggers an admin made.
    key: Optional[str] = Field(default=None, unique=True, max_length=64)
    name: str = Field(max_length=200)
    active: bool = False
    position: int = 0
    conditions: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))
    actions: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))
    # language tag -> {text key -> text}; a missing text falls back to the catalog default.
    texts: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


def _builtins() -> list[dict[str, Any]]:
    return [
        dict(key=REQUEST_EMAIL, name=BUILTIN_NAMES[REQUEST_EMAIL], position=10,
             # Started in the widget while nobody can answer soon: no agent online, or outside business hours.
             # (A conversation started by email has its address already and is answered by email anyway.)
             conditions={"event": "started", "channel": ["messaging", "api"],
                         "any_of": [{"agents_online": False}, {"business_hours": "outside"}]},
             actions=[{"type": "request_email", "text": "request_email", "if": {"has_email": False}},
                      {"type": "acknowledge_email", "text": "acknowledge_email", "if": {"has_email": True}}]),
        dict(key=OUT_OF_OFFICE, name=BUILTIN_NAMES[OUT_OF_OFFICE], position=20,
             conditions={"event": "started", "business_hours": "outside"},
             actions=[{"type": "system_message", "text": "out_of_office"}]),
    ]


@dataclass(frozen=True)
class Situation:
    """What the conditions look at, computed once per started conversation."""

    event: str
    channel: str
    agents_online: int
    inside_business_hours: bool
    has_email: bool
    language: str


def matches(conditions: dict[str, Any], situation: Situation) -> bool:
    """All given conditions hold; "any_of" holds when one of its condition sets does."""
    for key, expected in conditions.items():
        if key == "event" and situation.event != expected:
            return False
        if key == "channel" and situation.channel not in _as_list(expected):
            return False
        if key == "agents_online" and (situation.agents_online > 0) != bool(expected):
            return False
        if key == "business_hours" and situation.inside_business_hours != (expected == "inside"):
            return False
        if key == "has_email" and situation.has_email != bool(expected):
            return False
        if key == "language" and not _language_matches(situation.language, _as_list(expected)):
            return False
        if key == "any_of" and not any(matches(option, situation) for option in expected):
            return False
    return True


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _language_matches(language: str, wanted: list[str]) -> bool:
    tag = normalize_tag(language)
    return any(normalize_tag(w) in (tag, tag.split("_")[0]) for w in wanted)


def _validate(conditions: dict[str, Any], actions: list[dict[str, Any]]) -> None:
    if not isinstance(conditions, dict) or set(conditions) - CONDITION_KEYS:
        raise InvalidInput(_("Unknown trigger condition; use event, channel, agents_online, business_hours, "
                             "has_email, language or any_of."))
    for option in conditions.get("any_of", []):
        _validate(option, [])
    if not isinstance(actions, list):
        raise InvalidInput(_("A trigger's actions are a list."))
    for action in actions:
        if not isinstance(action, dict) or action.get("type") not in ACTION_TYPES:
            raise InvalidInput(_("Unknown trigger action; use system_message, request_email, acknowledge_email, "
                                 "set_status or add_tag."))


def text_for(trigger: Trigger, text_key: str, language: str, default_language: str) -> str:
    """The trigger's text for a language: the admin's override (exact tag, then language), else the catalog's."""
    tag = normalize_tag(language) or default_language
    for candidate in (tag, tag.split("_")[0]):
        override = (trigger.texts.get(candidate) or {}).get(text_key)
        if override:
            return override
    if text_key in DEFAULT_TEXTS:
        return translations(negotiate(tag)).gettext(DEFAULT_TEXTS[text_key])
    fallback = (trigger.texts.get(default_language) or {}).get(text_key)
    if fallback:
        return fallback
    return next((texts[text_key] for texts in trigger.texts.values() if texts.get(text_key)), "")


class TriggerService:
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    # --- reading ---------------------------------------------------------------------------------------
    def list(self, *, active_only: bool = False) -> list[Trigger]:
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
        for spec in _builtins():
            if self.by_key(spec["key"]) is None:
                trigger = Trigger(**spec, active=False, texts={}, created_at=now, updated_at=now)
                self.session.add(trigger)
                self.session.flush()
                record_event(self.session, now, "trigger.created", None, trigger_id=trigger.id, key=trigger.key)
                created.append(trigger)
        return created

    @transactional
    def create(self, name: str, conditions: dict[str, Any], actions: list[dict[str, Any]], *,
               texts: dict[str, dict[str, str]] | None = None, active: bool = False, position: int = 100) -> Trigger:
        from core.text import clean_name

        name = clean_name(name)
        if not name:
            raise InvalidInput(_("A trigger needs a name."))
        _validate(conditions, actions)
        now = self.clock.now()
        trigger = Trigger(name=name, conditions=conditions, actions=actions, texts=texts or {}, active=active,
                          position=position, created_at=now, updated_at=now)
        self.session.add(trigger)
        self.session.flush()
        record_event(self.session, now, "trigger.created", None, trigger_id=trigger.id, key=None)
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
            record_event(self.session, now, "trigger.activated" if active else "trigger.deactivated", None,
                         trigger_id=trigger.id, key=trigger.key)
        return trigger

    @transactional
    def set_text(self, trigger_id: int, language: str, text: str, *, text_key: str | None = None) -> Trigger:
        """Override the text of one action (the first with a text unless text_key names one) in one language."""
        trigger = self.get(trigger_id)
        tag = normalize_tag(language)
        if not tag:
            raise InvalidInput(_("{language!r} is not a language tag; use one such as en, de or pt-BR.").format(language=language))
        keys = [a["text"] for a in trigger.actions if a.get("text")]
        text_key = text_key or (keys[0] if keys else None)
        if text_key not in keys:
            raise InvalidInput(_("The trigger {name!r} has no text {key!r}; its texts are: {keys}.").format(
                name=trigger.name, key=text_key, keys=", ".join(keys) or "-"))
        from core.text import clean_body

        text = clean_body(text)
        now = self.clock.now()
        texts = {lang: dict(values) for lang, values in trigger.texts.items()}
        texts.setdefault(tag, {})[text_key] = text
        trigger.texts = texts  # a new dict, so the JSON column is seen as changed
        trigger.updated_at = now
        self.session.add(trigger)
        record_event(self.session, now, "trigger.text_set", None, trigger_id=trigger.id, language=tag, text_key=text_key)
        return trigger

    # --- running -------------------------------------------------------------------------------------------
    @staticmethod
    def situation(session: Session, now: datetime, conversation: Conversation, settings: AccountSettings,
                  event: str = "started") -> Situation:
        from core.business_hours import is_open

        end_user = session.get(EndUser, conversation.end_user_id)
        online = len(list(session.exec(select(Agent.id).where(Agent.status == AgentStatus.online))))
        language = conversation.language or (end_user.language if end_user else None) or settings.default_language
        return Situation(event=event, channel=conversation.channel.value, agents_online=online,
                         inside_business_hours=is_open(settings.business_hours, now),
                         has_email=bool(end_user and end_user.email), language=language)

    @staticmethod
    def run_started(session: Session, now: datetime, conversation: Conversation) -> list[Trigger]:
        """Run the active triggers on a new conversation, in its transaction; returns the ones that fired."""
        triggers = TriggerService(session, FixedClock(now)).list(active_only=True)
        triggers = [t for t in triggers if t.conditions.get("event", "started") == "started"]
        if not triggers:
            return []
        settings = SettingsService(session, FixedClock(now)).load()
        situation = TriggerService.situation(session, now, conversation, settings)
        fired = []
        for trigger in triggers:
            if matches(trigger.conditions, situation):
                TriggerService._run_actions(session, now, conversation, trigger, situation, settings)
                fired.append(trigger)
        return fired

    @staticmethod
    def _run_actions(session: Session, now: datetime, conversation: Conversation, trigger: Trigger,
                     situation: Situation, settings: AccountSettings) -> None:
        from core.conversations import ConversationService

        conversations = ConversationService(session, FixedClock(now))
        record_event(session, now, "trigger.fired", conversation.id, trigger_id=trigger.id, key=trigger.key)
        for action in trigger.actions:
            if not matches(action.get("if") or {}, situation):
                continue
            kind = action["type"]
            if kind in POSTING_ACTIONS:
                text = text_for(trigger, action.get("text", ""), situation.language, settings.default_language)
                if "{email}" in text:
                    end_user = session.get(EndUser, conversation.end_user_id)
                    text = text.replace("{email}", (end_user.email if end_user else "") or "")
                if text:
                    conversations.post_system_message(conversation.id, text, kind=MESSAGE_KINDS[kind],
                                                      meta={"trigger": trigger.key or trigger.id})
            elif kind == "set_status":
                try:
                    conversations.set_status(conversation.id, action.get("status", ""))
                except InvalidTransition:
                    pass  # already in that status: nothing to do
            elif kind == "add_tag":
                tag = str(action.get("tag", "")).strip()
                if tag and tag not in conversation.tags:
                    conversation.tags = [*conversation.tags, tag]
                    session.add(conversation)
                    record_event(session, now, "conversation.tagged", conversation.id, tag=tag)

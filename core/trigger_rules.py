"""Trigger rules as pure functions: the built-in triggers, matching conditions against a situation, texts."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import InvalidInput
from core.i18n import N_, _, negotiate, normalize_tag, translations
from core.models import Trigger

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


def builtin_triggers() -> list[dict[str, Any]]:
    """The specs of the built-in triggers (created inactive by TriggerService.ensure_builtins)."""
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


def validate_trigger(conditions: dict[str, Any], actions: list[dict[str, Any]]) -> None:
    if not isinstance(conditions, dict) or set(conditions) - CONDITION_KEYS:
        raise InvalidInput(_("Unknown trigger condition; use event, channel, agents_online, business_hours, "
                             "has_email, language or any_of."))
    for option in conditions.get("any_of", []):
        validate_trigger(option, [])
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
            return str(override)
    if text_key in DEFAULT_TEXTS:
        return translations(negotiate(tag)).gettext(DEFAULT_TEXTS[text_key])
    fallback = (trigger.texts.get(default_language) or {}).get(text_key)
    if fallback:
        return str(fallback)
    return next((texts[text_key] for texts in trigger.texts.values() if texts.get(text_key)), "")

"""Account settings: defaults, validation (an invalid change stores nothing), the event log."""
from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.events import EventLog
from core.settings import AccountSettings, BusinessHours, SettingsService


def test_defaults(session, clock):
    settings = SettingsService(session, clock).load()
    assert settings == AccountSettings()
    assert (settings.continuous_conversations, settings.inactivity_minutes, settings.presence_timeout_seconds) == (
        False,
        5,
        60,
    )


def test_update_validates_all_before_storing(session, clock):
    service = SettingsService(session, clock)
    with pytest.raises(InvalidInput, match="1 to 1440"):
        service.update(brand_name="Acme", inactivity_minutes=0)
    assert service.load().brand_name == "Support"
    updated = service.update(brand_name="Acme", inactivity_minutes=30, support_address="Help@Example.COM",
                             default_language="pt-BR",
                             business_hours={"timezone": "Europe/Berlin", "days": {"mon": [["09:00", "17:00"]]}})
    assert updated.support_address == "Help@example.com"
    assert updated.default_language == "pt_BR"
    assert updated.business_hours == BusinessHours("Europe/Berlin", {"mon": [["09:00", "17:00"]]})
    assert service.load() == updated
    kinds = [e.payload["key"] for e in EventLog(session).after(0) if e.kind == "settings.changed"]
    assert sorted(kinds) == [
        "brand_name",
        "business_hours",
        "default_language",
        "inactivity_minutes",
        "support_address",
    ]


@pytest.mark.parametrize("changes, message", [
    ({"inactivity_minutes": 1441}, "1 to 1440"),
    ({"presence_timeout_seconds": "60"}, "presence timeout"),
    ({"support_address": "not an address"}, "not a valid email"),
    ({"default_language": "??"}, "not a language tag"),
    ({"business_hours": {"timezone": "Mars/Olympus"}}, "Unknown time zone"),
    ({"business_hours": {"days": {"funday": []}}}, "Unknown weekday"),
    ({"business_hours": {"days": {"mon": [["17:00", "09:00"]]}}}, "end before they start"),
    ({"colour": "blue"}, "Unknown setting"),
])
def test_invalid_settings(session, clock, changes, message):
    with pytest.raises(InvalidInput, match=message):
        SettingsService(session, clock).update(**changes)

"""The demo's inactivity override: seconds instead of minutes, validated, and rescheduling what is pending."""
from __future__ import annotations

from datetime import timedelta

import pytest

from core.errors import InvalidInput
from core.inactivity import inactivity_period
from core.settings import SettingsService


def test_seconds_override_replaces_the_minutes_and_zero_turns_it_off(session, clock) -> None:
    settings = SettingsService(session, clock)
    assert inactivity_period(settings.update(inactivity_minutes=7)) == timedelta(minutes=7)
    assert inactivity_period(settings.update(inactivity_seconds=30)) == timedelta(seconds=30)
    assert inactivity_period(settings.update(inactivity_seconds=0)) == timedelta(minutes=7)


@pytest.mark.parametrize("bad", [-1, 86401, 1.5, True, "30"])
def test_invalid_override_is_refused_and_changes_nothing(session, clock, bad) -> None:
    settings = SettingsService(session, clock)
    settings.update(inactivity_seconds=45)
    with pytest.raises(InvalidInput, match="inactivity override"):
        settings.update(inactivity_seconds=bad, brand_name="Changed")
    after = settings.load()
    assert after.inactivity_seconds == 45 and after.brand_name != "Changed"

"""Account-wide settings: their typed values, defaults, validation and reading them from the database."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, select

from core.addresses import normalize_email
from core.errors import InvalidInput
from core.i18n import _
from core.language_tags import language_tag
from core.models import Setting
from core.text import clean_name

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class BusinessHours:
    """Opening hours per weekday in one time zone; a day without an entry is closed."""

    timezone: str = "UTC"
    # weekday ("mon".."sun") -> list of ["HH:MM", "HH:MM"] intervals, end exclusive
    days: dict[str, list[list[str]]] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountSettings:
    continuous_conversations: bool = False
    inactivity_minutes: int = 5
    # Overrides inactivity_minutes when > 0; for `threadline demo` and tests, where minutes are too slow to watch.
    inactivity_seconds: int = 0
    presence_timeout_seconds: int = 60
    support_address: str = ""
    default_language: str = "en"
    brand_name: str = "Support"
    business_hours: BusinessHours | None = None  # None: always open (when agents are online)
    # Agents see what an end user types before they send it. Off by default: people do not expect a half-written
    # message to be read.
    typing_preview: bool = False


_DEFAULTS = AccountSettings()


def validate_setting(name: str, value: Any) -> Any:
    """value checked and normalized for the setting name; InvalidInput names what is wrong."""
    if name == "continuous_conversations":
        if not isinstance(value, bool):
            raise InvalidInput(_("Continuous conversations is either on or off."))
        return value
    if name == "inactivity_minutes":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1440:
            raise InvalidInput(_("The inactivity period must be a whole number of minutes from 1 to 1440."))
        return value
    if name == "inactivity_seconds":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 86400:
            raise InvalidInput(_("The inactivity override must be a whole number of seconds from 0 (off) to 86400."))
        return value
    if name == "presence_timeout_seconds":
        if isinstance(value, bool) or not isinstance(value, int) or not 10 <= value <= 3600:
            raise InvalidInput(_("The presence timeout must be a whole number of seconds from 10 to 3600."))
        return value
    if name == "support_address":
        if value in ("", None):
            return ""
        return normalize_email(str(value))
    if name == "default_language":
        return language_tag(str(value or ""))
    if name == "brand_name":
        brand = clean_name(str(value or ""), max_chars=100)
        if not brand:
            raise InvalidInput(_("The brand name cannot be empty."))
        return brand
    if name == "business_hours":
        return _validate_hours(value)
    if name == "typing_preview":
        if not isinstance(value, bool):
            raise InvalidInput(_("The typing preview is either on or off."))
        return value
    raise InvalidInput(_("Unknown setting {name!r}.").format(name=name))


def parse_time_of_day(text: str) -> time:
    """An "HH:MM" opening time; "24:00" is the end of the day. InvalidInput when it is not a time of day."""
    try:
        hours, minutes = str(text).split(":")
        if hours == "24" and minutes == "00":
            return time.max
        return time(int(hours), int(minutes))
    except ValueError:
        raise InvalidInput(_("{text!r} is not a time of day; write it as HH:MM.").format(text=text)) from None


def _validate_hours(value: Any) -> BusinessHours | None:
    if value is None:
        return None
    if isinstance(value, BusinessHours):
        value = dataclasses.asdict(value)
    if not isinstance(value, dict):
        raise InvalidInput(_("Business hours need a time zone and opening hours per weekday."))
    zone = str(value.get("timezone") or "UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            _("Unknown time zone {zone!r}; use an IANA name such as Europe/Berlin.").format(zone=zone)
        ) from None
    days: dict[str, list[list[str]]] = {}
    for day, intervals in (value.get("days") or {}).items():
        if day not in WEEKDAYS:
            raise InvalidInput(_("Unknown weekday {day!r}; use mon, tue, wed, thu, fri, sat or sun.").format(day=day))
        checked = []
        for interval in intervals or []:
            start, end = interval
            if parse_time_of_day(start) >= parse_time_of_day(end):
                raise InvalidInput(
                    _("Opening hours {start}-{end} on {day} end before they start.").format(
                        start=start, end=end, day=day
                    )
                )
            checked.append([start, end])
        days[day] = checked
    return BusinessHours(timezone=zone, days=days)


def settings_json(value: Any) -> Any:
    """A setting's value as stored in its JSON column."""
    if isinstance(value, BusinessHours):
        return dataclasses.asdict(value)
    return value


def _from_json(name: str, value: Any) -> Any:
    if name == "business_hours" and value is not None:
        return BusinessHours(timezone=value.get("timezone", "UTC"), days=value.get("days", {}))
    return value


def load_settings(session: Session) -> AccountSettings:
    """The settings in force: stored values over the defaults."""
    stored = {row.key: row.value for row in session.exec(select(Setting))}
    values = {}
    for f in dataclasses.fields(AccountSettings):
        if f.name in stored:
            values[f.name] = _from_json(f.name, stored[f.name])
    return dataclasses.replace(_DEFAULTS, **values)

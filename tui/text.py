"""Showing text people wrote: literally, as Rich Text, with control characters and escape sequences removed."""
from __future__ import annotations

import unicodedata
import zoneinfo
from datetime import UTC, date, datetime, tzinfo

from rich.text import Text

from core.text import ESCAPE_SEQUENCE


def strip_controls(text: str | None, *, keep_newlines: bool = True) -> str:
    """text without escape sequences and control characters (newline and tab kept when asked)."""
    if not text:
        return ""
    text = ESCAPE_SEQUENCE.sub("", text)
    kept = []
    for char in text:
        if char in "\n\t" and keep_newlines:
            kept.append(char)
        elif unicodedata.category(char) == "Cc":
            continue
        else:
            kept.append(char)
    return "".join(kept)


def literal(text: str | None, style: str = "", *, one_line: bool = False) -> Text:
    """A Rich Text that shows text exactly as written: markup is not parsed, controls are removed."""
    cleaned = strip_controls(text, keep_newlines=not one_line)
    if one_line:
        cleaned = " ".join(cleaned.split())
    return Text(cleaned, style=style, no_wrap=one_line, overflow="ellipsis" if one_line else "fold")


def plain(text: str | None, limit: int = 80) -> str:
    """One clean line of text, shortened to limit characters, for notifications (shown with markup=False)."""
    cleaned = " ".join(strip_controls(text, keep_newlines=False).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


# The signed-in agent's time zone (Agent.timezone), set once when the console starts, like its language.
_zone: tzinfo = UTC


def set_time_zone(name: str | None) -> tzinfo:
    """Show every later time in the IANA zone name (UTC when empty or unknown here); returns the zone chosen."""
    global _zone
    try:
        _zone = zoneinfo.ZoneInfo(name) if name else UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        _zone = UTC
    return _zone


def local_date(moment: datetime) -> date:
    """The calendar day of moment in the agent's time zone (set_time_zone): the day the agent sees."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(_zone).date()


def short_time(moment: datetime | None, now: datetime) -> str:
    """HH:MM when moment is today, else YYYY-MM-DD HH:MM, both in the agent's time zone (set_time_zone)."""
    if moment is None:
        return ""
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(_zone)
    now = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(_zone)
    if moment.date() == now.date():
        return moment.strftime("%H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")

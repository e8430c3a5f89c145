"""Business hours: whether the business is open at an instant, in its own time zone (correct across DST)."""
from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from core.clock import as_utc
from core.settings import WEEKDAYS, BusinessHours


def _time_of(text: str) -> time:
    hours, minutes = str(text).split(":")
    if hours == "24" and minutes == "00":
        return time.max
    return time(int(hours), int(minutes))


def local_time(business_hours: BusinessHours, now: datetime) -> datetime:
    """now on the business's wall clock; zoneinfo applies the offset in force at that instant (DST included)."""
    return as_utc(now).astimezone(ZoneInfo(business_hours.timezone or "UTC"))


def is_open(business_hours: BusinessHours | None, now: datetime) -> bool:
    """True inside an opening interval of the local weekday (start inclusive, end exclusive); no hours: always open."""
    if business_hours is None:
        return True
    local = local_time(business_hours, now)
    weekday = WEEKDAYS[local.weekday()]
    moment = local.time().replace(tzinfo=None)
    for start, end in business_hours.days.get(weekday, []):
        if _time_of(start) <= moment < _time_of(end) or (end == "24:00" and moment >= _time_of(start)):
            return True
    return False

"""Business hours: whether the business is open at an instant, in its own time zone (correct across DST)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.account_settings import WEEKDAYS, BusinessHours, parse_time_of_day
from core.clock import as_utc


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
        if parse_time_of_day(start) <= moment < parse_time_of_day(end) or (
            end == "24:00" and moment >= parse_time_of_day(start)
        ):
            return True
    return False

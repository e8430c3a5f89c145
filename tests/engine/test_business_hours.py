"""Business hours in the business's own time zone, including the days the clocks change."""
from datetime import UTC, datetime

import pytest

from core.business_hours import is_open
from core.settings import BusinessHours

BERLIN = BusinessHours(timezone="Europe/Berlin", days={"mon": [["09:00", "17:00"]], "sun": [["09:00", "17:00"]],
                                                        "sat": [["22:00", "24:00"]]})


def test_no_business_hours_means_always_open():
    assert is_open(None, datetime(2026, 1, 4, 3, 0, tzinfo=UTC))


@pytest.mark.parametrize("utc_time, expected", [
    (datetime(2026, 1, 5, 7, 59, tzinfo=UTC), False),   # 08:59 CET
    (datetime(2026, 1, 5, 8, 0, tzinfo=UTC), True),     # 09:00 CET, start inclusive
    (datetime(2026, 1, 5, 15, 59, tzinfo=UTC), True),   # 16:59 CET
    (datetime(2026, 1, 5, 16, 0, tzinfo=UTC), False),   # 17:00 CET, end exclusive
    (datetime(2026, 1, 6, 10, 0, tzinfo=UTC), False),   # Tuesday: closed all day
    (datetime(2026, 1, 3, 22, 30, tzinfo=UTC), True),   # Saturday 23:30 CET, open until midnight
])
def test_winter_time(utc_time, expected):
    assert is_open(BERLIN, utc_time) is expected


def test_opening_moves_in_utc_across_the_spring_dst_change():
    # Sunday 29 March 2026 the clocks go from 02:00 to 03:00 in Berlin: 09:00 local is 07:00 UTC, not 08:00.
    assert is_open(BERLIN, datetime(2026, 3, 29, 7, 0, tzinfo=UTC))
    assert not is_open(BERLIN, datetime(2026, 3, 29, 6, 59, tzinfo=UTC))
    assert not is_open(BERLIN, datetime(2026, 3, 29, 15, 0, tzinfo=UTC))  # 17:00 CEST
    # The Sunday before, still winter time: 07:00 UTC is 08:00 local, closed.
    assert not is_open(BERLIN, datetime(2026, 3, 22, 7, 0, tzinfo=UTC))


def test_autumn_dst_change():
    # Sunday 25 October 2026 the clocks go back from 03:00 to 02:00: from then 09:00 local is 08:00 UTC.
    assert not is_open(BERLIN, datetime(2026, 10, 25, 7, 30, tzinfo=UTC))
    assert is_open(BERLIN, datetime(2026, 10, 25, 8, 0, tzinfo=UTC))
    assert is_open(BERLIN, datetime(2026, 10, 25, 15, 59, tzinfo=UTC))
